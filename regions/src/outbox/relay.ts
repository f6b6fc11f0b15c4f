import { fnv1a32, residencyHeader } from '@meridian/core'
import {
  type BusProducer,
  backoffDelayMs,
  type Logger,
  noJitter,
  type OutMessage,
} from '@meridian/platform'
import type pg from 'pg'
import type { Metrics } from '../metrics.ts'
import type { DrainGuard } from './drain.ts'
import { outboxChannel } from './signal.ts'

export interface RelayOptions {
  readonly topic: string
  /** Advisory-lock name: one relay per region (per schema in tests) publishes at a time. */
  readonly lockName: string
  readonly batchSizeMax?: number
  /**
   * An idle relay looks for rows this often anyway. Writers wake it at once: in this process
   * through `kick`, in others through Postgres (OutboxSignal, LISTEN on the leader connection);
   * the poll only covers a wake-up lost while that connection was being replaced.
   */
  readonly idlePollMs?: number
  readonly retryDelayMsMax?: number
  /**
   * After a batch that was not full, wait this long before the next look (Kafka's linger.ms):
   * under steady load the relay otherwise loops on batches of a few rows, and every batch costs
   * a select, a produce request and an update whatever its size. Adds at most this much to an
   * event's trip; a full batch goes on at once, and an idle relay still wakes at once.
   */
  readonly batchLingerMs?: number
  /** Sent rows are kept this long for inspection, then deleted. */
  readonly retentionMs?: number
  /** Where each merchant's events go; default: hashed by key (the producer's partitioner). */
  readonly partitionFor?: (merchantId: string) => number | undefined
  /** Holds back merchants whose partition is changing until their old partition drained. */
  readonly drain?: DrainGuard
}

interface OutboxRow {
  seq: string
  event_id: string
  merchant_id: string
  type: string
  origin_region: string
  hlc: string
  /** The envelope as text: published as-is, never parsed and re-serialized here. */
  envelope: string
  /** The merchant's residency as this region's placement says ('global' when it has none). */
  residency: string
}

/** See RelayOptions.batchLingerMs. */
export const relayBatchLingerMsDefault = 20

/**
 * The transactional outbox relay: publishes committed outbox rows to the region's Kafka topic in
 * commit order, keyed by merchant, then marks them sent. A crash between publish and mark sends
 * those rows again on restart: duplicates at most, never a loss; consumers dedupe by event id.
 */
export class OutboxRelay {
  private running = false
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  /** A wake-up came while the relay was busy: the next idle returns at once. */
  private woken = false
  private leaderClient: pg.PoolClient | undefined
  private lastJanitorMs = 0
  private readonly batchSizeMax: number
  private readonly idlePollMs: number
  private readonly retryDelayMsMax: number
  private readonly retentionMs: number
  private readonly batchLingerMs: number

  constructor(
    private readonly pool: pg.Pool,
    private readonly producer: BusProducer,
    private readonly options: RelayOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.batchSizeMax = options.batchSizeMax ?? 1000
    this.idlePollMs = options.idlePollMs ?? 500
    this.retryDelayMsMax = options.retryDelayMsMax ?? 5000
    this.retentionMs = options.retentionMs ?? 60 * 60_000
    this.batchLingerMs = options.batchLingerMs ?? relayBatchLingerMsDefault
  }

  /** Wake the relay now (the API calls this after a commit) instead of at the next poll. */
  kick(): void {
    this.woken = true
    this.wake?.()
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.loop = this.run()
  }

  /** Stop; with `drain`, first publish everything committed so far (graceful shutdown). */
  async stop(drain: boolean, drainMsMax = 10_000): Promise<void> {
    if (drain && this.leaderClient) {
      const deadline = Date.now() + drainMsMax
      while (Date.now() < deadline && (await this.publishOnce()) > 0) {}
    }
    this.running = false
    this.kick()
    await this.loop
    // Destroyed, not pooled: its session holds the leader lock and the LISTEN.
    this.leaderClient?.release(true)
    this.leaderClient = undefined
  }

  private async becomeLeader(): Promise<boolean> {
    if (this.leaderClient) return true
    const client = await this.pool.connect()
    const { rows } = await client.query<{ ok: boolean; schema: string }>(
      'select pg_try_advisory_lock($1) as ok, current_schema() as schema',
      [fnv1a32(`outbox-relay:${this.options.lockName}`)],
    )
    const schema = rows[0]?.schema
    if (!rows[0]?.ok) {
      client.release()
      return false
    }
    // Listening before the first look: a row committed after it is announced, one before it found.
    client.on('notification', (n) => {
      if (n.channel === outboxChannel && n.payload === schema) this.kick()
    })
    try {
      await client.query(`listen ${outboxChannel}`)
    } catch (error) {
      client.release(true)
      throw error
    }
    this.leaderClient = client
    this.log.info('outbox relay is the leader')
    return true
  }

  private async run(): Promise<void> {
    let failures = 0
    while (this.running) {
      let published = 0
      try {
        if (!(await this.becomeLeader())) {
          await this.idle(1000)
          continue
        }
        // A wake-up from here on may announce a row this look misses: it ends the next idle.
        this.woken = false
        published = await this.publishOnce()
        await this.janitor()
        failures = 0
      } catch (error) {
        failures += 1
        const backoff = { delayMsMin: 100, delayMsMax: this.retryDelayMsMax, jitter: noJitter }
        const delay = backoffDelayMs(failures, backoff)
        this.log.warn('outbox relay failed; retrying', { error, delayMs: delay })
        this.leaderClient?.release(true)
        this.leaderClient = undefined
        await this.idle(delay)
        continue
      }
      if (published === 0 && !this.woken) await this.idle(this.idlePollMs)
      else if (published > 0 && published < this.batchSizeMax && this.batchLingerMs > 0)
        await new Promise((r) => setTimeout(r, this.batchLingerMs))
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }

  /** Publish one batch in commit order; returns how many rows went out. */
  async publishOnce(): Promise<number> {
    // Named statements: each connection plans them once, not on every batch.
    const { rows } = await this.pool.query<OutboxRow>({
      name: 'outbox-unsent',
      text: `select o.seq, o.event_id, o.merchant_id, o.type, o.envelope->>'origin_region' as origin_region,
         o.envelope->>'hlc' as hlc, o.envelope::text as envelope,
         coalesce(p.residency, 'global') as residency
       from outbox o left join merchant_placements p on p.merchant_id = o.merchant_id
       where o.sent_at is null order by o.seq limit $1`,
      values: [this.batchSizeMax],
    })
    this.metrics.outboxBacklog.set(rows.length)
    if (rows.length === 0) return 0
    // A merchant whose partition is changing waits (its rows stay unsent, in order) until its
    // old partition is drained; everyone else goes on.
    const held = this.options.drain
      ? await this.options.drain.held(new Set(rows.map((r) => r.merchant_id)))
      : new Set<string>()
    const ready = rows.filter((r) => !held.has(r.merchant_id))
    if (ready.length === 0) return 0
    const messages: OutMessage[] = ready.map((r) => {
      const partition = this.options.partitionFor?.(r.merchant_id)
      return {
        key: r.merchant_id,
        value: r.envelope,
        headers: {
          'event-id': r.event_id,
          'event-type': r.type,
          'origin-region': r.origin_region,
          hlc: r.hlc,
          // Replicators read it to keep the merchant's data inside its residency.
          [residencyHeader]: r.residency,
        },
        ...(partition === undefined ? {} : { partition }),
      }
    })
    await this.producer.send(this.options.topic, messages)
    await this.pool.query({
      name: 'outbox-mark-sent',
      text: 'update outbox set sent_at = now() where seq = any($1::bigint[])',
      values: [ready.map((r) => r.seq)],
    })
    this.metrics.outboxPublished.inc(ready.length)
    return ready.length
  }

  private async janitor(): Promise<void> {
    if (Date.now() - this.lastJanitorMs < 60_000) return
    this.lastJanitorMs = Date.now()
    await this.pool.query(
      `delete from outbox where sent_at < now() - ($1 || ' milliseconds')::interval`,
      [String(this.retentionMs)],
    )
  }
}
