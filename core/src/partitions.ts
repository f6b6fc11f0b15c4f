import { z } from 'zod'
import { invariant } from './invariant.ts'
import { fnv1a32 } from './registry.ts'

/**
 * Where each merchant's events go in a region's `events` topic. Hot merchants get a dedicated
 * partition (and so a dedicated consumer); everyone else is hashed over the partitions nobody
 * owns. Versioned: a change drains the moved merchants' old partitions before they switch.
 */
export const partitionMapSchema = z.strictObject({
  version: z.number().int().nonnegative(),
  partitions: z.number().int().positive(),
  /** merchant → its dedicated partition. */
  hot: z.record(z.string(), z.number().int().nonnegative()),
})
export type PartitionMap = z.infer<typeof partitionMapSchema>

export function parsePartitionMap(input: unknown): PartitionMap {
  const map = partitionMapSchema.parse(input)
  const owned = Object.values(map.hot)
  invariant(
    owned.every((p) => p < map.partitions),
    'a dedicated partition is out of range',
  )
  invariant(new Set(owned).size === owned.length, 'two hot merchants share a dedicated partition')
  invariant(owned.length < map.partitions, 'at least one partition must stay for everyone else')
  return map
}

export function defaultPartitionMap(partitions: number): PartitionMap {
  return { version: 0, partitions, hot: {} }
}

/**
 * A cold merchant keeps its hashed partition unless that partition is dedicated to a hot one;
 * only then is it rehashed over the shared ones. So making a merchant hot moves few others.
 */
export function partitionFor(map: PartitionMap, merchantId: string): number {
  const dedicated = map.hot[merchantId]
  if (dedicated !== undefined) return dedicated
  const owned = new Set(Object.values(map.hot))
  const first = fnv1a32(merchantId) % map.partitions
  if (!owned.has(first)) return first
  const shared = [...Array(map.partitions).keys()].filter((p) => !owned.has(p))
  const pick = shared[fnv1a32(`${merchantId}#`) % shared.length]
  invariant(pick !== undefined, 'there is always a shared partition')
  return pick
}

/** Partitions that hot merchants own: each gets its own consumer. */
export function dedicatedPartitions(map: PartitionMap): number[] {
  return Object.values(map.hot).sort((a, b) => a - b)
}
