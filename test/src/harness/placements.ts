import type { Placement } from '@meridian/core'
import { RegionClient } from './client.ts'
import type { TestDb } from './pg.ts'
import type { TestRegion } from './region.ts'

/**
 * Placements written straight into a region's merchant_placements, as the control plane's PUT
 * would leave them: for tests whose subject is what a region does with a placement it holds.
 */
export async function seedPlacements(
  db: TestDb,
  placements: readonly Placement[],
  fencedEpoch = 0,
): Promise<void> {
  for (const p of placements)
    await db.pool.query(
      `insert into merchant_placements (merchant_id, home, failover, residency, epoch, processing_home, fenced_epoch)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [p.merchantId, p.home, p.failover, p.residency, p.epoch, p.processingHome, fencedEpoch],
    )
}

/**
 * The control plane calling a region's /internal/v1: signed with the edge secret for `merchantId`
 * (the path's merchant, or mer_control) at `epoch` (the placement's; 0 when none is sent).
 */
export function controlClient(region: TestRegion, merchantId: string, epoch: number): RegionClient {
  const url = region.running.url
  if (!url) throw new Error('test region runs without the api role')
  return new RegionClient(url, region.secret, merchantId, region.config.region, epoch)
}
