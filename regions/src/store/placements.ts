import {
  admitWrite,
  canonicalJson,
  fleet,
  joinPlacements,
  type Placement,
  type PlacementFence,
  type WriteAdmission,
} from '@meridian/core'
import type pg from 'pg'
import { merchantPlacements } from './columns.ts'
import type { Row } from './rows.ts'

/**
 * merchant_placements: each merchant's placement as this region holds it. Written by the control
 * plane (api/internal.ts) and by replication's merge, both through `joinPlacement`, so the row only
 * ever moves up the join (higher epoch wins; processing home write-once; fenced epoch a maximum).
 */

/** A placement as held here, with this region's fence. */
export interface HeldPlacement {
  readonly placement: Placement
  readonly fencedEpoch: number
  /** The marker event this region wrote for its latest fence; null until it is written. */
  readonly fenceMarker: string | null
}

/** The data jurisdiction of a region of the registry: what residency admits writes there. */
export function jurisdictionOf(region: string): string {
  const entry = fleet.regions.find((r) => r.id === region)
  if (!entry) throw new Error(`region ${region} is not in the registry (core/src/fleet.ts)`)
  return entry.jurisdiction
}

const all = merchantPlacements.all
const selectSql = `select ${all.names}, fence_marker from merchant_placements where merchant_id = $1`

function held(row: Row): HeldPlacement {
  const { fencedEpoch, ...placement } = all.read(row)
  return { placement, fencedEpoch, fenceMarker: (row.fence_marker as string | null) ?? null }
}

export async function getPlacement(
  db: pg.Pool | pg.PoolClient,
  merchantId: string,
  forUpdate = false,
): Promise<HeldPlacement | undefined> {
  const { rows } = await db.query<Row>(forUpdate ? `${selectSql} for update` : selectSql, [
    merchantId,
  ])
  return rows[0] ? held(rows[0]) : undefined
}

const fenceOf = merchantPlacements.pick('epoch', 'residency', 'fencedEpoch')
const selectFenceSql = `select ${fenceOf.names} from merchant_placements where merchant_id = $1`

/**
 * Whether this write may proceed: read inside the write's own transaction, so a fence that
 * commits after this read is behind the write, and the fence's barrier waits for the write to end.
 */
export async function admission(
  client: pg.PoolClient,
  merchantId: string,
  epoch: number,
  jurisdiction: string,
): Promise<WriteAdmission> {
  const { rows } = await client.query<Row>(selectFenceSql, [merchantId])
  const known: PlacementFence | undefined = rows[0] ? fenceOf.read(rows[0]) : undefined
  return admitWrite(known, epoch, jurisdiction)
}

const insertSql = `insert into merchant_placements (${all.names}) values (${all.values(1)})
     on conflict (${merchantPlacements.key.names}) do nothing`
const moved = all.where((c) => c.changes !== 'never')
// A higher fence is a new fence: its marker is not yet written (fenceMarker reads null until then).
const updateSql = `update merchant_placements set ${moved.assignments(2)},
       fence_marker = case when $${moved.position('fencedEpoch', 2)} > fenced_epoch then null else fence_marker end,
       updated_at = now()
     where ${merchantPlacements.key.conditions(1)}`

/**
 * Join `incoming` (and a fence at `fencedEpoch`) into the row, creating it if absent. Returns the
 * row as it now is and whether it changed. Runs in the caller's transaction; locks the row.
 */
export async function joinPlacement(
  client: pg.PoolClient,
  incoming: Placement,
  fencedEpoch: number,
): Promise<{ held: HeldPlacement; changed: boolean }> {
  const inserted = await client.query(insertSql, all.params({ ...incoming, fencedEpoch }))
  if (inserted.rowCount === 1)
    return { held: { placement: incoming, fencedEpoch, fenceMarker: null }, changed: true }
  const current = await getPlacement(client, incoming.merchantId, true)
  if (!current) throw new Error(`placement of ${incoming.merchantId} vanished under its lock`)
  const placement = joinPlacements(current.placement, incoming)
  const fenced = Math.max(current.fencedEpoch, fencedEpoch)
  const changed =
    fenced !== current.fencedEpoch || canonicalJson(placement) !== canonicalJson(current.placement)
  if (!changed) return { held: current, changed }
  await client.query(updateSql, [
    incoming.merchantId,
    ...moved.params({ ...placement, fencedEpoch: fenced }),
  ])
  const fenceMarker = fenced > current.fencedEpoch ? null : current.fenceMarker
  return { held: { placement, fencedEpoch: fenced, fenceMarker }, changed }
}

export async function setFenceMarker(
  client: pg.PoolClient,
  merchantId: string,
  eventId: string,
): Promise<void> {
  await client.query(
    'update merchant_placements set fence_marker = $2, updated_at = now() where merchant_id = $1',
    [merchantId, eventId],
  )
}

/** Whether this region is the merchant's processing home; undefined when it holds no placement. */
export async function processingHomeOf(
  db: pg.Pool,
  merchantId: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ processing_home: string }>(
    'select processing_home from merchant_placements where merchant_id = $1',
    [merchantId],
  )
  return rows[0]?.processing_home
}

export async function placementCounts(
  db: pg.Pool,
  region: string,
): Promise<{ total: number; homedHere: number }> {
  const { rows } = await db.query<{ total: number; homed_here: number }>(
    `select count(*)::int as total, (count(*) filter (where home = $1))::int as homed_here
     from merchant_placements`,
    [region],
  )
  return { total: rows[0]?.total ?? 0, homedHere: rows[0]?.homed_here ?? 0 }
}
