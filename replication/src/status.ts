import type { KafkaBus } from '@meridian/platform'
import { listDuplicates } from '@meridian/regions/replication'
import { Hono } from 'hono'
import type pg from 'pg'
import type { ReplicationMetrics } from './metrics.ts'
import { type ReplicationTopics, replicatedTopic } from './topics.ts'

interface StatusDeps {
  readonly region: string
  readonly pool: pg.Pool
  readonly bus: KafkaBus
  readonly peers: readonly string[]
  readonly topics: ReplicationTopics
  readonly metrics: ReplicationMetrics
  /** Link switches for drills; absent: the routes do not exist. */
  readonly control?: {
    pauseLink(origin: string): Promise<void>
    resumeLink(origin: string): Promise<void>
  }
}

/** Duplicates listed in the status (counts cover them all). */
const duplicatesListedMax = 50

/** Per link: how far behind the applier is, and when events and heartbeats last arrived. */
export async function replicationStatus(deps: StatusDeps) {
  const admin = await deps.bus.admin()
  try {
    const { rows: links } = await deps.pool.query<{
      origin_region: string
      last_event_applied_at: Date | null
      last_event_latency_ms: string | null
      last_heartbeat_sent_ms: string | null
      last_heartbeat_applied_at: Date | null
    }>('select * from replication_links')
    const { rows: positions } = await deps.pool.query<{
      topic: string
      partition: number
      next_offset: string
    }>('select topic, partition, next_offset from replication_positions')
    const { rows: conflicts } = await deps.pool.query<{ kind: string; n: number }>(
      'select kind, count(*)::int as n from replication_conflicts group by kind',
    )
    const out = []
    for (const origin of deps.peers) {
      const topic = replicatedTopic(origin, deps.topics.events)
      const ends = await admin.endOffsets(topic).catch(() => new Map<number, string>())
      const lag = [...ends].map(([partition, end]) => {
        const applied =
          positions.find((p) => p.topic === topic && p.partition === partition)?.next_offset ?? '0'
        return { partition, lag: Number(BigInt(end) - BigInt(applied)) }
      })
      const link = links.find((l) => l.origin_region === origin)
      const heartbeatMs = link?.last_heartbeat_sent_ms
        ? Number(link.last_heartbeat_sent_ms)
        : undefined
      out.push({
        origin,
        lagRecords: lag.reduce((s, p) => s + p.lag, 0),
        lagByPartition: lag.filter((p) => p.lag > 0),
        lastEventAppliedAt: link?.last_event_applied_at ?? null,
        lastEventLatencyMs: link?.last_event_latency_ms ? Number(link.last_event_latency_ms) : null,
        heartbeatAgeMs: heartbeatMs === undefined ? null : Date.now() - heartbeatMs,
      })
    }
    const duplicates = await listDuplicates(deps.pool)
    return {
      region: deps.region,
      links: out,
      conflicts: Object.fromEntries(conflicts.map((c) => [c.kind, c.n])),
      // Payments that shared an Idempotency-Key with another: found, and undone at the processor.
      duplicates: {
        open: duplicates.filter((d) => d.settledAt === null).length,
        compensated: duplicates.filter((d) => d.settledAt !== null).length,
        payments: duplicates.slice(0, duplicatesListedMax),
      },
    }
  } finally {
    await admin.close()
  }
}

export function statusApp(deps: StatusDeps): Hono {
  const app = new Hono()
  app.get('/replication/status', async (c) => c.json(await replicationStatus(deps)))
  app.get('/metrics', async (c) => {
    const duplicates = await listDuplicates(deps.pool)
    const open = duplicates.filter((d) => d.settledAt === null).length
    deps.metrics.duplicatePayments.set({ state: 'open' }, open)
    deps.metrics.duplicatePayments.set({ state: 'compensated' }, duplicates.length - open)
    return c.body(await deps.metrics.registry.metrics(), 200, {
      'Content-Type': deps.metrics.registry.contentType,
    })
  })
  const control = deps.control
  if (control) {
    app.post('/replication/links/:origin/:action', async (c) => {
      const { origin, action } = c.req.param()
      if (!deps.peers.includes(origin)) return c.json({ error: `${origin} is not a peer` }, 404)
      if (action === 'pause') await control.pauseLink(origin)
      else if (action === 'resume') await control.resumeLink(origin)
      else return c.json({ error: 'action is pause or resume' }, 404)
      return c.json({
        region: deps.region,
        origin,
        link: action === 'pause' ? 'paused' : 'running',
      })
    })
  }
  return app
}
