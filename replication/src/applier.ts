import { decodeEvent, type EventEnvelope, parseHlc } from '@meridian/core'
import {
  type Batch,
  type BusConsumer,
  GroupCommitter,
  inTransaction,
  type KafkaBus,
  type Logger,
} from '@meridian/platform'
import type pg from 'pg'
import { type LastHeartbeat, linkLagSeconds } from './link-lag.ts'
import { applyEvents } from './merge-events.ts'
import type { ReplicationMetrics } from './metrics.ts'
import { originOfTopic, type ReplicationTopics, replicatedTopic } from './topics.ts'

export interface ApplierOptions {
  readonly region: string
  readonly peers: readonly string[]
  readonly groupId: string
  readonly topics: ReplicationTopics
  /** How often origins send heartbeats (the fleet shares one setting): when one is overdue. */
  readonly heartbeatIntervalMs: number
}

/** Most partitions' batches one applier transaction carries. */
export const partitionsPerCommitMax = 32

/** How stale `GET /replication/status`'s last-event fields may be, per link. */
export const linkStatusIntervalMs = 250

/**
 * Applies other regions' events to this region effectively once: the dedupe record
 * (origin, event id), the merged state and the next source offset commit in one Postgres
 * transaction. On (re)assignment it seeks to the offsets Postgres holds, so Kafka's own
 * committed offsets are only a hint.
 */
export class Applier {
  private consumer: BusConsumer | undefined
  private readonly linkNotedAtMs = new Map<string, number>()
  /** Per origin, its last heartbeat; until one arrives, the start (no news since then). */
  private readonly heartbeats = new Map<string, LastHeartbeat>()
  private readonly commits = new GroupCommitter<Batch, undefined>(
    (batches) => this.applyBatches(batches),
    {
      batchSizeMax: partitionsPerCommitMax,
      flushesInFlightMax: 1,
      // kafkajs hands over a partition's next batch only after its last: one per commit anyway.
      keyOf: (b) => `${b.topic}|${b.partition}`,
      queueDepthMax: Number.MAX_SAFE_INTEGER,
    },
  )

  constructor(
    private readonly bus: KafkaBus,
    private readonly pool: pg.Pool,
    private readonly options: ApplierOptions,
    private readonly log: Logger,
    private readonly metrics: ReplicationMetrics,
  ) {}

  topics(): string[] {
    const { events, heartbeats } = this.options.topics
    return this.options.peers.flatMap((p) => [
      replicatedTopic(p, events),
      replicatedTopic(p, heartbeats),
    ])
  }

  async start(): Promise<void> {
    const startedMs = Date.now()
    for (const peer of this.options.peers)
      this.heartbeats.set(peer, { sentMs: startedMs, receivedMs: startedMs })
    this.metrics.sources.linkLag = () =>
      [...this.heartbeats].map(([origin, last]) => [
        origin,
        linkLagSeconds(last, this.options.heartbeatIntervalMs, Date.now()),
      ])
    this.consumer = this.bus.consumer({
      groupId: this.options.groupId,
      topics: this.topics(),
      fromBeginning: true,
      // Partitions are independent (a merchant lives on one); batches handed over together share
      // one transaction (applyBatches).
      partitionsConcurrently: 16,
      onAssign: async (assignment) => {
        const { rows } = await this.pool.query<{
          topic: string
          partition: number
          next_offset: string
        }>(
          'select topic, partition, next_offset from replication_positions where topic = any($1)',
          [Object.keys(assignment)],
        )
        return rows
          .filter((r) => assignment[r.topic]?.includes(r.partition))
          .map((r) => ({ topic: r.topic, partition: r.partition, offset: r.next_offset }))
      },
    })
    await this.consumer.start((batch) => this.applyBatch(batch))
  }

  async stop(): Promise<void> {
    await this.consumer?.stop()
  }

  private async applyBatch(batch: Batch): Promise<void> {
    if (batch.messages.length === 0) return
    if (batch.topic.endsWith(`.${this.options.topics.heartbeats}`)) return this.heartbeat(batch)
    await this.commits.submit(batch)
  }

  /**
   * Every partition's batch handed over while the previous transaction committed goes into the
   * next one: one commit (one fsync) for many partitions. Per partition, its position and its
   * events stay in the same transaction, so each is still applied effectively once.
   */
  private async applyBatches(handed: readonly Batch[]): Promise<undefined[]> {
    const appliedAt = Date.now()
    // Rows locked in one order by every applier (two may overlap in a rebalance): no deadlock.
    const batches = [...handed].sort(
      (a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition,
    )
    const result = await inTransaction(this.pool, async (client) => {
      const events = await this.unapplied(client, batches)
      // Dedupe in one statement: only events never applied here go on.
      const { rows } = await client.query<{ event_id: string }>(
        `insert into replication_applied (origin_region, event_id)
         select * from unnest($1::text[], $2::text[]) on conflict do nothing returning event_id`,
        [events.map((e) => e.origin_region), events.map((e) => e.id)],
      )
      const freshIds = new Set(rows.map((r) => r.event_id))
      const fresh = events.filter((e) => freshIds.has(e.id))
      await applyEvents(client, fresh)
      await client.query(
        `insert into replication_positions (topic, partition, next_offset)
         select * from unnest($1::text[], $2::int[], $3::bigint[])
         on conflict (topic, partition) do update
           set next_offset = greatest(replication_positions.next_offset, excluded.next_offset), updated_at = now()`,
        [
          batches.map((b) => b.topic),
          batches.map((b) => b.partition),
          batches.map((b) => (BigInt(b.messages.at(-1)?.offset ?? '-1') + 1n).toString()),
        ],
      )
      return { events, fresh }
    })
    this.observe(batches, result.events, result.fresh, appliedAt)
    return handed.map(() => undefined)
  }

  /** Each batch's events from the position Postgres holds on (a redelivery starts before it). */
  private async unapplied(
    client: pg.PoolClient,
    batches: readonly Batch[],
  ): Promise<EventEnvelope[]> {
    const { rows } = await client.query<{ topic: string; partition: number; next_offset: string }>(
      `select topic, partition, next_offset from replication_positions
       where (topic, partition) in (select * from unnest($1::text[], $2::int[]))
       order by topic, partition for update`,
      [batches.map((b) => b.topic), batches.map((b) => b.partition)],
    )
    const positions = new Map(rows.map((r) => [`${r.topic}|${r.partition}`, BigInt(r.next_offset)]))
    const events: EventEnvelope[] = []
    for (const batch of batches) {
      const from = positions.get(`${batch.topic}|${batch.partition}`) ?? 0n
      for (const message of batch.messages) {
        if (BigInt(message.offset) < from) continue
        const decoded = decodeEvent(message.value ?? '')
        if (!decoded.ok) {
          this.log.error('undecodable replicated event skipped', {
            topic: batch.topic,
            offset: message.offset,
            reason: decoded.reason,
          })
          continue
        }
        // Never apply our own events back to ourselves (there should be none: defence in depth).
        if (decoded.event.origin_region !== this.options.region) events.push(decoded.event)
      }
    }
    return events
  }

  private observe(
    batches: readonly Batch[],
    events: readonly EventEnvelope[],
    fresh: readonly EventEnvelope[],
    appliedAt: number,
  ): void {
    const freshIds = new Set(fresh.map((e) => e.id))
    const latest = new Map<string, number>()
    for (const e of events) {
      const wall = parseHlc(e.hlc)?.wallMs
      if (!freshIds.has(e.id)) {
        this.metrics.duplicates.inc({ origin: e.origin_region })
        continue
      }
      this.metrics.applied.inc({ origin: e.origin_region })
      if (wall !== undefined) {
        this.metrics.latency.observe({ origin: e.origin_region }, (appliedAt - wall) / 1000)
        latest.set(e.origin_region, appliedAt - wall)
      }
    }
    for (const batch of batches) {
      const last = batch.messages.at(-1)
      if (!last) continue
      const origin = originOfTopic(batch.topic) ?? 'unknown'
      this.metrics.recordAge.set({ origin }, (Date.now() - last.timestampMs) / 1000)
      this.metrics.lag.set(
        { origin, partition: String(batch.partition) },
        Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n),
      )
    }
    for (const [origin, latencyMs] of latest) void this.noteLink(origin, latencyMs)
  }

  /**
   * The link's "last event applied" row is status, not state: written after the commit, at most
   * every `linkStatusIntervalMs` per origin. Inside the batch transaction it was one row every
   * partition's transaction locked until its commit, so concurrent partitions waited in line.
   */
  private async noteLink(origin: string, latencyMs: number | undefined): Promise<void> {
    const now = Date.now()
    if (now - (this.linkNotedAtMs.get(origin) ?? 0) < linkStatusIntervalMs) return
    this.linkNotedAtMs.set(origin, now)
    await this.pool
      .query(
        `insert into replication_links (origin_region, last_event_applied_at, last_event_latency_ms) values ($1, now(), $2)
         on conflict (origin_region) do update set last_event_applied_at = now(), last_event_latency_ms = excluded.last_event_latency_ms`,
        [origin, latencyMs ?? null],
      )
      .catch((error: unknown) => this.log.warn('link status not written', { origin, error }))
  }

  private async heartbeat(batch: Batch): Promise<void> {
    const origin = originOfTopic(batch.topic) ?? 'unknown'
    const last = batch.messages.at(-1)
    const sentMs = Number(JSON.parse(String(last?.value ?? '{}')).sentAtMs)
    if (!Number.isFinite(sentMs)) return
    await this.pool.query(
      `insert into replication_links (origin_region, last_heartbeat_sent_ms, last_heartbeat_applied_at) values ($1, $2, now())
       on conflict (origin_region) do update set last_heartbeat_sent_ms = excluded.last_heartbeat_sent_ms, last_heartbeat_applied_at = now()`,
      [origin, sentMs],
    )
    const receivedMs = Date.now()
    // Batches of one partition arrive in order, but a redelivery may bring an older beat again.
    if (sentMs > (this.heartbeats.get(origin)?.sentMs ?? 0))
      this.heartbeats.set(origin, { sentMs, receivedMs })
    this.metrics.heartbeatAge.set({ origin }, (receivedMs - sentMs) / 1000)
  }
}
