import { decodeEvent, type EventEnvelope, parseHlc } from '@meridian/core'
import {
  type Batch,
  type BusConsumer,
  inTransaction,
  type KafkaBus,
  type Logger,
} from '@meridian/regions'
import type pg from 'pg'
import { applyEvents } from './apply.ts'
import type { ReplicationMetrics } from './metrics.ts'
import { originOfTopic, type ReplicationTopics, replicatedTopic } from './topics.ts'

export interface ApplierOptions {
  readonly region: string
  readonly peers: readonly string[]
  readonly groupId: string
  readonly topics: ReplicationTopics
}

/**
 * Applies other regions' events to this region effectively once: the dedupe record
 * (origin, event id), the merged state and the next source offset commit in one Postgres
 * transaction. On (re)assignment it seeks to the offsets Postgres holds, so Kafka's own
 * committed offsets are only a hint.
 */
export class Applier {
  private consumer: BusConsumer | undefined

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
    this.consumer = this.bus.consumer({
      groupId: this.options.groupId,
      topics: this.topics(),
      fromBeginning: true,
      // Partitions are independent (a merchant lives on one); each batch is its own transaction.
      partitionsConcurrently: 6,
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
    const origin = originOfTopic(batch.topic) ?? 'unknown'
    const last = batch.messages.at(-1)
    if (!last) return
    if (batch.topic.endsWith(`.${this.options.topics.heartbeats}`))
      return this.heartbeat(origin, batch)
    const appliedAt = Date.now()
    const latencies: number[] = []
    let applied = 0
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ next_offset: string }>(
        'select next_offset from replication_positions where topic = $1 and partition = $2 for update',
        [batch.topic, batch.partition],
      )
      const from = BigInt(rows[0]?.next_offset ?? '0')
      const events: EventEnvelope[] = []
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
      // Dedupe the whole batch in one statement: only events never applied here go on.
      const { rows: freshRows } = await client.query<{ event_id: string }>(
        `insert into replication_applied (origin_region, event_id)
         select * from unnest($1::text[], $2::text[]) on conflict do nothing returning event_id`,
        [events.map((e) => e.origin_region), events.map((e) => e.id)],
      )
      const freshIds = new Set(freshRows.map((r) => r.event_id))
      const fresh = events.filter((e) => freshIds.has(e.id))
      this.metrics.duplicates.inc({ origin }, events.length - fresh.length)
      await applyEvents(client, fresh)
      applied = fresh.length
      for (const e of fresh) {
        const wall = parseHlc(e.hlc)?.wallMs
        if (wall !== undefined) latencies.push(appliedAt - wall)
      }
      await client.query(
        `insert into replication_positions (topic, partition, next_offset) values ($1, $2, $3)
         on conflict (topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
        [batch.topic, batch.partition, (BigInt(last.offset) + 1n).toString()],
      )
      await client.query(
        `insert into replication_links (origin_region, last_event_applied_at, last_event_latency_ms) values ($1, now(), $2)
         on conflict (origin_region) do update set last_event_applied_at = now(), last_event_latency_ms = excluded.last_event_latency_ms`,
        [origin, latencies.at(-1) ?? null],
      )
    })
    this.metrics.applied.inc({ origin }, applied)
    for (const ms of latencies) this.metrics.latency.observe({ origin }, ms / 1000)
    this.metrics.recordAge.set({ origin }, (Date.now() - last.timestampMs) / 1000)
    this.metrics.lag.set(
      { origin, partition: String(batch.partition) },
      Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n),
    )
  }

  private async heartbeat(origin: string, batch: Batch): Promise<void> {
    const last = batch.messages.at(-1)
    const sentMs = Number(JSON.parse(String(last?.value ?? '{}')).sentAtMs)
    if (!Number.isFinite(sentMs)) return
    await this.pool.query(
      `insert into replication_links (origin_region, last_heartbeat_sent_ms, last_heartbeat_applied_at) values ($1, $2, now())
       on conflict (origin_region) do update set last_heartbeat_sent_ms = excluded.last_heartbeat_sent_ms, last_heartbeat_applied_at = now()`,
      [origin, sentMs],
    )
    this.metrics.heartbeatAge.set({ origin }, (Date.now() - sentMs) / 1000)
  }
}
