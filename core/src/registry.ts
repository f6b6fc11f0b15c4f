import { z } from 'zod'
import { invariant } from './invariant.ts'

/**
 * The region registry: the one source of truth for which regions exist, where they answer, and
 * which region is each merchant's home with what failover order. The edge routes by it, infra
 * provisions from it, and the local topology starts from it.
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
})
export type Region = z.infer<typeof regionSchema>

export const placementSchema = z.strictObject({
  merchantId: merchantIdSchema,
  home: regionIdSchema,
  /** Regions to try, in order, when the home region is down. */
  failover: z.array(regionIdSchema),
})
export type Placement = z.infer<typeof placementSchema>

export const registrySchema = z.strictObject({
  /** Bumped on every change of ownership; regions refuse writes fenced by an older epoch. */
  epoch: z.number().int().positive(),
  regions: z.array(regionSchema).min(1),
  merchants: z.array(placementSchema),
})
export type RegionRegistry = z.infer<typeof registrySchema>

/** Validate shape and cross-references; throws a readable error for a broken registry. */
export function parseRegistry(input: unknown): RegionRegistry {
  const registry = registrySchema.parse(input)
  const ids = registry.regions.map((r) => r.id)
  invariant(new Set(ids).size === ids.length, `duplicate region id in ${ids.join(', ')}`)
  const cidrs = registry.regions.map((r) => r.cidr)
  invariant(new Set(cidrs).size === cidrs.length, 'two regions share a CIDR block')
  const merchants = registry.merchants.map((m) => m.merchantId)
  invariant(new Set(merchants).size === merchants.length, 'a merchant is placed twice')
  for (const m of registry.merchants) {
    const order = [m.home, ...m.failover]
    invariant(
      order.every((r) => ids.includes(r)),
      `${m.merchantId} names an unknown region in ${order.join(', ')}`,
    )
    invariant(new Set(order).size === order.length, `${m.merchantId} lists a region twice`)
    invariant(
      order.length === ids.length,
      `${m.merchantId} must list every region once (home + failover)`,
    )
  }
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
 * Home first, then failover order. Merchants not listed get a home by hash and fail over to the
 * following regions in registry order, so every region computes the same answer.
 */
export function routeOrder(registry: RegionRegistry, merchantId: MerchantId): RegionId[] {
  const placed = registry.merchants.find((m) => m.merchantId === merchantId)
  if (placed) return [placed.home, ...placed.failover]
  const ids = registry.regions.map((r) => r.id)
  const start = fnv1a32(merchantId) % ids.length
  return ids.map((_, i) => ids[(start + i) % ids.length] as RegionId)
}

export function homeRegion(registry: RegionRegistry, merchantId: MerchantId): RegionId {
  const [home] = routeOrder(registry, merchantId)
  invariant(home !== undefined, 'registry has at least one region')
  return home
}

export function findRegion(registry: RegionRegistry, id: RegionId): Region | undefined {
  return registry.regions.find((r) => r.id === id)
}
