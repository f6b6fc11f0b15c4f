import { type HybridClock, MeridianError, type Placement } from '@meridian/core'
import { inTransaction } from '@meridian/platform'
import type pg from 'pg'
import { insertOutbox } from '../store/payments.ts'
import {
  getPlacement,
  type HeldPlacement,
  joinPlacement,
  placementCounts,
  setFenceMarker,
} from '../store/placements.ts'
import { makeEvent } from './events.ts'

/** How often the fence's barrier looks for transactions older than the fence. */
export const fenceBarrierPollMs = 10
/** How long the barrier waits for them before the fence answers 503 (the control plane retries). */
export const fenceBarrierWaitMsMax = 10_000

export interface PlacementServiceDeps {
  readonly region: string
  readonly jurisdiction: string
  readonly pool: pg.Pool
  readonly clock: HybridClock
  /** Called after a commit that wrote outbox events: wakes the outbox relay. */
  readonly outboxWritten?: () => void
  /** How long the barrier waits at most; fenceBarrierWaitMsMax unless a test shortens it. */
  readonly barrierWaitMsMax?: number
}

export interface PlacementView {
  readonly placement: Placement
  readonly fencedEpoch: number
}

function view(held: HeldPlacement): PlacementView {
  return { placement: held.placement, fencedEpoch: held.fencedEpoch }
}

/**
 * The control plane's use cases in a region (docs/control-plane.md): hold placements, fence a
 * merchant for a planned move, and say what replication has applied. HTTP lives in api/internal.ts.
 */
export class PlacementService {
  constructor(private readonly deps: PlacementServiceDeps) {}

  /** Join a placement into this region's row; a change goes out as merchant.placement_changed. */
  async put(placement: Placement): Promise<PlacementView> {
    let wrote = false
    const held = await inTransaction(this.deps.pool, async (client) => {
      const { held, changed } = await joinPlacement(client, placement, 0)
      if (changed) {
        await insertOutbox(client, [this.changedEvent(held)])
        wrote = true
      }
      return held
    })
    if (wrote) this.deps.outboxWritten?.()
    return view(held)
  }

  async get(merchantId: string): Promise<PlacementView | undefined> {
    const held = await getPlacement(this.deps.pool, merchantId)
    return held ? view(held) : undefined
  }

  /**
   * Fence the merchant at `placement.epoch`: from the commit on, writes routed by it are refused;
   * then wait until every transaction that began before that commit has ended (one may hold a
   * write admitted before the fence), and only then append the marker, so the marker follows
   * every write this region acknowledged under the fenced epoch. Fencing again at an epoch
   * already fenced and marked returns the same marker.
   */
  async fence(
    placement: Placement,
  ): Promise<{ region: string; fencedEpoch: number; markerEventId: string }> {
    const epoch = placement.epoch
    const fenced = await inTransaction(this.deps.pool, async (client) => {
      const { held } = await joinPlacement(client, placement, epoch)
      return held
    })
    if (fenced.fenceMarker !== null)
      return {
        region: this.deps.region,
        fencedEpoch: fenced.fencedEpoch,
        markerEventId: fenced.fenceMarker,
      }
    await this.barrier()
    const marked = await inTransaction(this.deps.pool, async (client) => {
      const held = await getPlacement(client, placement.merchantId, true)
      if (!held) throw new Error(`placement of ${placement.merchantId} vanished after its fence`)
      // Another fence call got here first and wrote the marker: the same answer.
      if (held.fenceMarker !== null) return { held, markerEventId: held.fenceMarker, wrote: false }
      const marker = this.changedEvent(held)
      await insertOutbox(client, [marker])
      await setFenceMarker(client, placement.merchantId, marker.id)
      return { held, markerEventId: marker.id, wrote: true }
    })
    if (marked.wrote) this.deps.outboxWritten?.()
    return {
      region: this.deps.region,
      fencedEpoch: marked.held.fencedEpoch,
      markerEventId: marked.markerEventId,
    }
  }

  /**
   * Wait until no transaction of this database that began before now (read after the fence's
   * commit) is still open. Such a transaction may have admitted a write before the fence; after
   * it ends, every such write has committed or rolled back. Database-wide, not per merchant:
   * Postgres does not say what a transaction touches, and waiting a little longer is harmless.
   */
  private async barrier(): Promise<void> {
    const waitMsMax = this.deps.barrierWaitMsMax ?? fenceBarrierWaitMsMax
    const deadline = Date.now() + waitMsMax
    const { rows } = await this.deps.pool.query<{ now: Date }>('select clock_timestamp() as now')
    const since = rows[0]?.now
    for (;;) {
      const open = await this.deps.pool.query<{ open: number }>(
        `select count(*)::int as open from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()
           and backend_type = 'client backend' and xact_start < $1`,
        [since],
      )
      if ((open.rows[0]?.open ?? 0) === 0) return
      if (Date.now() >= deadline)
        throw new MeridianError({
          kind: 'unavailable',
          code: 'region_unavailable',
          message: `Transactions older than the fence are still open after ${waitMsMax} ms; the fence holds, retry it to write the marker.`,
          retryAfterSec: 1,
        })
      await new Promise((resolve) => setTimeout(resolve, fenceBarrierPollMs))
    }
  }

  private changedEvent(held: HeldPlacement) {
    return makeEvent(this.deps.clock, 'merchant.placement_changed', held.placement.merchantId, {
      placement: held.placement,
      fencedEpoch: held.fencedEpoch,
    })
  }

  /** Whether this region has applied another region's event (its own count as applied). */
  async applied(origin: string, eventId: string): Promise<boolean> {
    if (origin === this.deps.region) return true
    const { rows } = await this.deps.pool.query(
      'select 1 from replication_applied where origin_region = $1 and event_id = $2',
      [origin, eventId],
    )
    return rows.length > 0
  }

  async status() {
    const { rows } = await this.deps.pool.query<{
      origin_region: string
      last_event_applied_at: Date | null
      last_event_latency_ms: string | null
      last_heartbeat_applied_at: Date | null
    }>(
      `select origin_region, last_event_applied_at, last_event_latency_ms, last_heartbeat_applied_at
       from replication_links order by origin_region`,
    )
    return {
      region: this.deps.region,
      jurisdiction: this.deps.jurisdiction,
      links: rows.map((r) => ({
        origin: r.origin_region,
        lastEventAppliedAt: r.last_event_applied_at?.toISOString() ?? null,
        lastEventLatencyMs:
          r.last_event_latency_ms === null ? null : Number(r.last_event_latency_ms),
        lastHeartbeatAppliedAt: r.last_heartbeat_applied_at?.toISOString() ?? null,
      })),
      placements: await placementCounts(this.deps.pool, this.deps.region),
    }
  }
}
