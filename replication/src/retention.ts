import type { Logger } from '@meridian/platform'
import type pg from 'pg'

/**
 * How long a dedupe record (origin, event id) is kept: longer than a replicated topic keeps its
 * records (Kafka's 7 days, `retentionHours` in infra/cloud/src/sizing.ts), so any copy of an
 * event still in a topic finds its record. A copy shipped twice lands at nearby offsets and is
 * applied within moments of the first anyway; older records only cost space.
 */
export const dedupeRetentionMs = 8 * 24 * 3600_000

/** How often the applier looks for expired dedupe records. */
export const dedupePruneIntervalMs = 10 * 60_000

/** Rows deleted per statement, so a prune never holds many locks or one long transaction. */
export const dedupePruneChunkRows = 10_000

/** Delete dedupe records applied more than `retentionMs` ago; returns how many went. */
export async function pruneAppliedRecords(
  pool: pg.Pool,
  retentionMs = dedupeRetentionMs,
  chunkRows = dedupePruneChunkRows,
): Promise<number> {
  let deleted = 0
  for (;;) {
    const { rowCount } = await pool.query(
      `delete from replication_applied where ctid = any(array(
         select ctid from replication_applied
         where applied_at < now() - ($1 || ' milliseconds')::interval limit $2))`,
      [String(retentionMs), chunkRows],
    )
    deleted += rowCount ?? 0
    if ((rowCount ?? 0) < chunkRows) return deleted
  }
}

/** Runs `pruneAppliedRecords` every `dedupePruneIntervalMs` while the applier runs. */
export class DedupePruner {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly retentionMs = dedupeRetentionMs,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.prune(), dedupePruneIntervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async prune(): Promise<void> {
    try {
      const deleted = await pruneAppliedRecords(this.pool, this.retentionMs)
      if (deleted > 0) this.log.info('expired dedupe records deleted', { deleted })
    } catch (error) {
      // The database may be out of reach for a while; the next round tries again.
      this.log.warn('dedupe records not pruned', { error })
    }
  }
}
