import { allowedIn, fleet, residencyHeader, residencySchema } from '@meridian/core'
import {
  type BusConsumer,
  type BusProducer,
  ensureTopics,
  type KafkaBus,
  type Logger,
  type OutMessage,
} from '@meridian/platform'
import type { ReplicationMetrics } from './metrics.ts'
import { type ReplicationTopics, replicatedTopic } from './topics.ts'

export interface Link {
  /** The region whose cluster we read. */
  readonly origin: string
  readonly originBus: KafkaBus
}

/**
 * Whether a record may be shipped to `destination`: a merchant's data stays inside its residency
 * (the header its origin's relay stamped from that region's placement; none: global). Placement
 * events go everywhere: every region must know where a merchant lives, to refuse its writes.
 */
export function mayShip(
  headers: Readonly<Record<string, string | undefined>>,
  destination: string,
) {
  if (headers['event-type'] === 'merchant.placement_changed') return true
  const residency = residencySchema.safeParse(headers[residencyHeader] ?? 'global')
  // A residency this version does not know: not shipped (kept in, never leaked out).
  return residency.success && allowedIn(fleet, residency.data, destination)
}

/** A record that went around once already must not go around again. */
export const hopsMax = 1

/**
 * Copies one origin region's `events` and `heartbeats` into this (destination) region's cluster
 * as `<origin>.events` and `<origin>.heartbeats`, keeping key, partition and order, and adding
 * origin headers. Offsets on the origin are committed only after the destination acknowledged,
 * so nothing is lost; duplicates are possible and the applier drops them.
 */
export class Replicator {
  private consumer: BusConsumer | undefined
  private producer: BusProducer | undefined

  constructor(
    private readonly destination: string,
    private readonly destinationBus: KafkaBus,
    private readonly link: Link,
    private readonly topics: ReplicationTopics,
    private readonly eventsPartitions: number,
    private readonly log: Logger,
    private readonly metrics: ReplicationMetrics,
  ) {}

  /** Mirror the origin's topics with the same partition counts, so a merchant's partition is kept. */
  private async ensureDestinationTopics(): Promise<void> {
    const origin = await this.link.originBus.admin()
    try {
      const specs = []
      for (const topic of Object.values(this.topics)) {
        const partitions = await origin.partitionCount(topic)
        if (partitions > 0)
          specs.push({ topic: replicatedTopic(this.link.origin, topic), partitions })
      }
      await ensureTopics(this.destinationBus, specs, this.log)
    } finally {
      await origin.close()
    }
  }

  async start(): Promise<void> {
    // The origin's topics exist once its relay and heartbeat ran; creating them here (same specs)
    // lets the link start first.
    await ensureTopics(
      this.link.originBus,
      [
        { topic: this.topics.events, partitions: this.eventsPartitions },
        { topic: this.topics.heartbeats, partitions: 1 },
      ],
      this.log,
    )
    await this.ensureDestinationTopics()
    this.producer = await this.destinationBus.producer({ idempotent: true })
    this.consumer = this.link.originBus.consumer({
      groupId: `replicator.${this.destination}`,
      topics: Object.values(this.topics),
      fromBeginning: true,
      // Every partition (events and heartbeats) at once: one fetch's batches reach the shared
      // producer together and go out as one request.
      partitionsConcurrently: this.eventsPartitions + 1,
    })
    const producer = this.producer
    await this.consumer.start(async (batch) => {
      const out: OutMessage[] = []
      for (const m of batch.messages) {
        const origin = m.headers['origin-region'] ?? this.link.origin
        const hops = Number(m.headers.hop ?? '0')
        // Never ship a record back to the region it came from, and never twice around.
        if (origin === this.destination || hops >= hopsMax) continue
        if (!mayShip(m.headers, this.destination)) {
          this.metrics.withheld.inc({ origin: this.link.origin })
          continue
        }
        out.push({
          key: m.key ?? '',
          value: m.value ?? Buffer.alloc(0),
          partition: batch.partition,
          headers: {
            ...m.headers,
            'origin-region': origin,
            'origin-offset': m.offset,
            'origin-timestamp': String(m.timestampMs),
            hop: String(hops + 1),
          },
        })
      }
      await producer.send(replicatedTopic(this.link.origin, batch.topic), out)
      this.metrics.shipped.inc({ origin: this.link.origin }, out.length)
    })
    this.log.info('replicating', { from: this.link.origin, to: this.destination })
  }

  async stop(): Promise<void> {
    await this.consumer?.stop()
    await this.producer?.close()
  }
}

/** Every second, a heartbeat into this region's own `heartbeats` topic: links show liveness and
 * lag even when no payments flow. */
export class HeartbeatEmitter {
  private timer: NodeJS.Timeout | undefined
  private producer: BusProducer | undefined

  constructor(
    private readonly region: string,
    private readonly bus: KafkaBus,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  async start(): Promise<void> {
    await ensureTopics(this.bus, [{ topic: this.topic, partitions: 1 }], this.log)
    this.producer = await this.bus.producer({ idempotent: true })
    const producer = this.producer
    const beat = () =>
      producer
        .send(this.topic, [
          {
            key: this.region,
            value: JSON.stringify({ origin: this.region, sentAtMs: Date.now() }),
            headers: { 'origin-region': this.region },
          },
        ])
        .catch((error: unknown) => this.log.warn('heartbeat not sent', { error }))
    this.timer = setInterval(() => void beat(), this.intervalMs)
    await beat()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.producer?.close()
  }
}
