import { z } from 'zod'
import { invariant } from './invariant.ts'

/**
 * The region registry: provisioning input only, the one source of truth for which regions exist,
 * where they answer, their networks and the jurisdiction their data stays in. Infra provisions
 * from it and the local topology starts from it. Merchants are not here: where a merchant lives
 * (its placement, core/src/placement.ts) is runtime data, changed through the operator API.
 */
export const regionIdSchema = z
  .string()
  .regex(/^[a-z]{2}-[a-z]+(?:-\d+)?$/, 'region ids look like us-east or eu-west-2')
export type RegionId = z.infer<typeof regionIdSchema>

export const merchantIdSchema = z
  .string()
  .regex(/^mer_[a-z0-9_]{1,48}$/, 'merchant ids look like mer_acme')
export type MerchantId = z.infer<typeof merchantIdSchema>

export const regionSchema = z.strictObject({
  id: regionIdSchema,
  displayName: z.string().min(1),
  /** Where the cloud copy of this region runs. */
  awsRegion: z.string().regex(/^[a-z]{2}-[a-z]+-\d$/),
  /** Public origin of the region's API behind its load balancer. */
  origin: z.url(),
  /** Private address space of the region's network; must not overlap another region's. */
  cidr: z.string().regex(/^10\.\d{1,3}\.0\.0\/16$/),
  /** Whose law the region's data is under: a merchant with a residency stays within it. */
  jurisdiction: z.enum(['us', 'eu', 'in']),
})
export type Region = z.infer<typeof regionSchema>

export const registrySchema = z.strictObject({
  regions: z.array(regionSchema).min(1),
})
export type RegionRegistry = z.infer<typeof registrySchema>

/** Validate shape and cross-references; throws a readable error for a broken registry. */
export function parseRegistry(input: unknown): RegionRegistry {
  const registry = registrySchema.parse(input)
  const ids = registry.regions.map((r) => r.id)
  invariant(new Set(ids).size === ids.length, `duplicate region id in ${ids.join(', ')}`)
  const cidrs = registry.regions.map((r) => r.cidr)
  invariant(new Set(cidrs).size === cidrs.length, 'two regions share a CIDR block')
  return registry
}

/** FNV-1a, 32-bit: a stable hash so unlisted merchants land on the same home everywhere. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash >>> 0
}

/**
 * Every region, starting at one picked by hashing the merchant id, then in registry order: the
 * same answer everywhere. The route of a merchant with no placement yet (placement.ts).
 */
export function routeOrder(registry: RegionRegistry, merchantId: MerchantId): RegionId[] {
  const ids = registry.regions.map((r) => r.id)
  const start = fnv1a32(merchantId) % ids.length
  return ids.map((_, i) => ids[(start + i) % ids.length] as RegionId)
}

export function findRegion(registry: RegionRegistry, id: RegionId): Region | undefined {
  return registry.regions.find((r) => r.id === id)
}
