import { fleet, MeridianError, movedPlacement, placementSchema } from '@meridian/core'
import { callRegion } from './regions.ts'
import { moveView, notFound } from './results.ts'
import type { ControlStore, EvacuationPlan, MoveView, Operator } from './types.ts'

/**
 * Planned moves (docs/control-plane.md): fence every region at the epoch being left, wait until
 * the destination has applied every region's events up to its fence, then publish the next
 * epoch. Each step is idempotent and the state is stored, so running a step again, or a new CLI
 * after a crash, carries on where the last one stopped.
 */

/**
 * Store a step's outcome, only if the move is still in the state the step started from: the
 * object serves other calls while a step awaits a region, so a slow step of a CLI that was given
 * up on must not write an old state over a newer one (a finished move back to draining). When it
 * would, the stored move is returned as it is.
 */
function save(
  fc: ControlStore,
  move: MoveView,
  patch: Partial<Pick<MoveView, 'state' | 'markers' | 'pending'>>,
): MoveView {
  const next = { ...move, ...patch, updatedMs: Date.now() }
  const written = fc.sql.exec(
    'update moves set state = ?, markers = ?, pending = ?, updated_ms = ?, finished_ms = ? where id = ? and state = ?',
    next.state,
    JSON.stringify(next.markers),
    JSON.stringify(next.pending),
    next.updatedMs,
    next.state === 'done' ? next.updatedMs : null,
    move.id,
    move.state,
  ).rowsWritten
  if (written === 0) return current(fc, move)
  return { ...next, ...(next.state === 'done' ? { finishedMs: next.updatedMs } : {}) }
}

function current(fc: ControlStore, move: MoveView): MoveView {
  const [row] = fc.rows('select * from moves where id = ?', move.id)
  if (!row) throw notFound('move', String(move.id))
  return moveView(row)
}

function target(fc: ControlStore, move: MoveView) {
  const [row] = fc.rows('select target from moves where id = ?', move.id)
  return placementSchema.parse(JSON.parse(String(row?.target)))
}

/** Start moving `merchantId` to `to`, or return the move already doing exactly that. */
export function startMove(
  fc: ControlStore,
  by: Operator,
  merchantId: string,
  to: string,
): { move?: MoveView; alreadyHome: boolean } {
  const merchant = fc.merchant(merchantId)
  if (!merchant) throw notFound('merchant', merchantId)
  const active = fc.activeMove(merchantId)
  if (active) {
    if (active.to === to) return { move: active, alreadyHome: false }
    throw new MeridianError({
      kind: 'conflict',
      code: 'move_in_progress',
      message: `${merchantId} is being moved to ${active.to}; finish that move first (pnpm fleet move ${merchantId} --to ${active.to}).`,
    })
  }
  if (merchant.placement.home === to) return { alreadyHome: true }
  const next = movedPlacement(fleet, merchant.placement, to)
  const now = Date.now()
  fc.sql.exec(
    `insert into moves (merchant_id, from_region, to_region, from_epoch, target, state, started_ms, updated_ms)
     values (?, ?, ?, ?, ?, 'fencing', ?, ?)`,
    merchantId,
    merchant.placement.home,
    to,
    merchant.placement.epoch,
    JSON.stringify(next),
    now,
    now,
  )
  const move = fc.activeMove(merchantId)
  if (!move) throw new Error('move not stored')
  fc.audit(by, 'move.start', merchantId, { from: move.from, to, epoch: move.fromEpoch })
  return { move, alreadyHome: false }
}

/** One step of the merchant's active move (or its last move, when done). */
export async function stepMove(
  fc: ControlStore,
  by: Operator,
  merchantId: string,
): Promise<MoveView> {
  const move = fc.activeMove(merchantId) ?? lastMove(fc, merchantId)
  if (!move) throw notFound('move of', merchantId)
  if (move.state === 'fencing') return fence(fc, move)
  if (move.state === 'draining') return drain(fc, move)
  if (move.state === 'publishing') return publish(fc, by, move)
  return move
}

export function lastMove(fc: ControlStore, merchantId: string): MoveView | undefined {
  const [row] = fc.rows(
    'select * from moves where merchant_id = ? order by id desc limit 1',
    merchantId,
  )
  return row ? moveView(row) : undefined
}

/** Every region stops taking the merchant's writes at the epoch being left. */
async function fence(fc: ControlStore, move: MoveView): Promise<MoveView> {
  const merchant = fc.merchant(move.merchantId)
  if (!merchant) throw notFound('merchant', move.merchantId)
  const markers = { ...move.markers }
  const pending: string[] = []
  await Promise.all(
    fleet.regions.map(async ({ id: region }) => {
      if (markers[region]) return
      const answer = await callRegion(fc.bindings, {
        region,
        method: 'POST',
        path: `/internal/v1/placements/${move.merchantId}/fence`,
        body: { placement: merchant.placement },
        merchantId: move.merchantId,
        epoch: move.fromEpoch,
      })
      const marker = answer.ok
        ? (answer.body as { markerEventId?: unknown }).markerEventId
        : undefined
      if (typeof marker === 'string') markers[region] = marker
      else
        pending.push(`fence at ${region}: ${answer.ok ? 'no marker in the answer' : answer.detail}`)
    }),
  )
  return save(fc, move, { markers, pending, state: pending.length === 0 ? 'draining' : 'fencing' })
}

/** The destination has applied every other region's events up to that region's fence. */
async function drain(fc: ControlStore, move: MoveView): Promise<MoveView> {
  const pending: string[] = []
  await Promise.all(
    Object.entries(move.markers)
      .filter(([origin]) => origin !== move.to)
      .map(async ([origin, marker]) => {
        const answer = await callRegion(fc.bindings, {
          region: move.to,
          method: 'GET',
          path: `/internal/v1/replication/applied?origin=${encodeURIComponent(origin)}&event=${encodeURIComponent(marker)}`,
        })
        const applied = answer.ok && (answer.body as { applied?: unknown }).applied === true
        if (!applied)
          pending.push(
            answer.ok
              ? `${move.to} has not yet applied ${origin}'s events up to its fence`
              : `${move.to} did not answer: ${answer.detail}`,
          )
      }),
  )
  return save(fc, move, { pending, state: pending.length === 0 ? 'publishing' : 'draining' })
}

/** The next epoch: the old home's copy first, then the others', then KV (the edge's). */
async function publish(fc: ControlStore, by: Operator, move: MoveView): Promise<MoveView> {
  const next = target(fc, move)
  const unreachable = await fc.pushPlacement(next, move.from)
  if (current(fc, move).state !== 'publishing') return current(fc, move)
  // Never back: a placement the merchant has passed already stays passed.
  fc.sql.exec(
    `update merchants set placement = ? where id = ? and json_extract(placement, '$.epoch') < ?`,
    JSON.stringify(next),
    move.merchantId,
    next.epoch,
  )
  fc.sql.exec(
    'delete from evacuations where region = ? and merchant_id = ?',
    move.to,
    move.merchantId,
  )
  const done = save(fc, move, {
    state: 'done',
    pending: unreachable.map((u) => `learns by replication: ${u}`),
  })
  fc.audit(by, 'move.done', move.merchantId, {
    from: move.from,
    to: move.to,
    epoch: next.epoch,
    tookMs: (done.finishedMs ?? done.updatedMs) - move.startedMs,
  })
  return done
}

/**
 * Give up a move that cannot finish (a region that does not answer its fence, a destination that
 * never drains): the merchant stays where it is, at the next epoch, which no region has fenced, so
 * its writes are taken again (and fail over as usual if its home is down). Nothing is drained: the
 * home keeps its own writes, and what another region took before the fence reaches it by
 * replication as after any failover. Only before publishing: after that the move has happened.
 */
export function abortMove(fc: ControlStore, by: Operator, merchantId: string): MoveView {
  const move = fc.activeMove(merchantId)
  if (!move) throw notFound('move in progress of', merchantId)
  if (move.state !== 'fencing' && move.state !== 'draining')
    throw new MeridianError({
      kind: 'conflict',
      code: 'move_in_progress',
      message: `${merchantId}'s move is ${move.state}; it can only finish (pnpm fleet move ${merchantId} --to ${move.to}).`,
    })
  const merchant = fc.merchant(merchantId)
  if (!merchant) throw notFound('merchant', merchantId)
  const stay = { ...merchant.placement, epoch: move.fromEpoch + 1 }
  const written = fc.sql.exec(
    `update moves set to_region = ?, target = ?, state = 'publishing', pending = '[]', updated_ms = ? where id = ? and state = ?`,
    move.from,
    JSON.stringify(stay),
    Date.now(),
    move.id,
    move.state,
  ).rowsWritten
  if (written === 0) return current(fc, move)
  fc.audit(by, 'move.abort', merchantId, { from: move.from, to: move.to, epoch: stay.epoch })
  return current(fc, move)
}

/**
 * The moves that take every merchant off `region`: each to its first failover region. Stored, so
 * running it again gives the same plan, and `restoreRegion` knows whom to bring back.
 */
export function evacuationPlan(fc: ControlStore, by: Operator, region: string): EvacuationPlan {
  if (!fleet.regions.some((r) => r.id === region)) throw notFound('region', region)
  const plan: { merchantId: string; to: string }[] = []
  const skipped: { merchantId: string; skipped: string }[] = []
  for (const m of fc.rows('select id from merchants order by id')) {
    const merchant = fc.merchant(String(m.id))
    if (!merchant) continue
    const [stored] = fc.rows(
      'select to_region from evacuations where region = ? and merchant_id = ?',
      region,
      merchant.id,
    )
    if (stored) {
      plan.push({ merchantId: merchant.id, to: String(stored.to_region) })
      continue
    }
    if (merchant.placement.home !== region) continue
    const to = merchant.placement.failover[0]
    if (!to) {
      skipped.push({
        merchantId: merchant.id,
        skipped: `residency ${merchant.placement.residency} allows no other region`,
      })
      continue
    }
    fc.sql.exec(
      'insert into evacuations (region, merchant_id, to_region) values (?, ?, ?)',
      region,
      merchant.id,
      to,
    )
    plan.push({ merchantId: merchant.id, to })
  }
  fc.audit(by, 'region.evacuate', region, { plan, skipped })
  return [...plan, ...skipped]
}

/** The moves that bring back every merchant an evacuation took off `region`. */
export function restorePlan(fc: ControlStore, by: Operator, region: string): EvacuationPlan {
  if (!fleet.regions.some((r) => r.id === region)) throw notFound('region', region)
  const plan = fc
    .rows('select merchant_id from evacuations where region = ? order by merchant_id', region)
    .map((r) => ({ merchantId: String(r.merchant_id), to: region }))
  fc.audit(by, 'region.restore', region, { plan })
  return plan
}
