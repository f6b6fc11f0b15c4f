import { decodeEvent, dedicatedPartitions, type EventType } from '@meridian/core'
import type { Batch, BusConsumer, KafkaBus, Logger } from '@meridian/platform'
import type { PartitionMapSource } from '../outbox/partition-map.ts'
import type { PaymentFlow } from './flow.ts'
import { limitConcurrency } from './semaphore.ts'

/** Events that may leave work for a processor. Others (webhook-only, replication) are skipped. */
const actionable: ReadonlySet<EventType> = new Set([
  'payment.created',
  'payment.authorized',
  'payment.capture_requested',
  'payment.cancel_requested',
  'refund.created',
])

export interface WorkerOptions {
  readonly topic: string
  readonly groupId: string
  /** Payments advanced at once per batch; each may wait on a processor for a while. */
  readonly concurrencyMax?: number
  /** Hot merchants' dedicated partitions get a consumer of their own, kept in step with the map. */
  readonly maps?: PartitionMapSource
}

/**
 * Processor workers: a Kafka consumer group on the region's events topic. A batch's payments are
 * advanced concurrently (each payment's own events in order), and offsets are committed after the
 * batch. A payment that fails is logged and left to the reconciler: one bad payment never stalls
 * a partition. Each hot merchant's dedicated partition is consumed by a consumer of its own.
 */
export class ProcessorWorker {
  private consumer: BusConsumer | undefined
  /** Dedicated consumers, by the partition they own. */
  private readonly dedicated = new Map<number, BusConsumer>()
  private readonly limit: <T>(task: () => Promise<T>) => Promise<T>

  constructor(
    private readonly bus: KafkaBus,
    private readonly flow: PaymentFlow,
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {
    this.limit = limitConcurrency(options.concurrencyMax ?? 64)
  }

  async start(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: this.options.groupId,
      topics: [this.options.topic],
      fromBeginning: true,
    })
    await this.consumer.start((batch) => this.handle(batch))
    const maps = this.options.maps
    if (!maps) return
    await this.syncDedicated(dedicatedPartitions(maps.current()))
    maps.onChange((map) => {
      this.syncDedicated(dedicatedPartitions(map)).catch((error: unknown) =>
        this.log.error('could not follow the partition map', { error }),
      )
    })
  }

  /** One consumer per dedicated partition: it claims the partition, so nobody else consumes it. */
  private async syncDedicated(partitions: readonly number[]): Promise<void> {
    for (const [p, consumer] of this.dedicated) {
      if (partitions.includes(p)) continue
      await consumer.stop()
      this.dedicated.delete(p)
    }
    for (const p of partitions) {
      if (this.dedicated.has(p)) continue
      const consumer = this.bus.consumer({
        groupId: this.options.groupId,
        topics: [this.options.topic],
        fromBeginning: true,
        claims: { [this.options.topic]: [p] },
      })
      this.dedicated.set(p, consumer)
      await consumer.start((batch) => this.handle(batch))
      this.log.info('dedicated consumer started', { partition: p })
    }
  }

  private async handle(batch: Batch): Promise<void> {
    const paymentIds = new Set<string>()
    for (const message of batch.messages) {
      const decoded = decodeEvent(message.value ?? '')
      if (!decoded.ok) {
        this.log.error('undecodable event skipped', {
          topic: batch.topic,
          offset: message.offset,
          reason: decoded.reason,
        })
        continue
      }
      if (!actionable.has(decoded.event.type)) continue
      const payment = decoded.event.payload.payment as { id?: unknown } | undefined
      if (typeof payment?.id === 'string') paymentIds.add(payment.id)
    }
    await Promise.all(
      [...paymentIds].map((id) =>
        this.limit(() =>
          this.flow.advance(id).catch((error: unknown) => {
            this.log.error('advancing a payment failed; the reconciler will retry it', {
              paymentId: id,
              error,
            })
          }),
        ),
      ),
    )
  }

  async stop(): Promise<void> {
    for (const c of this.dedicated.values()) await c.stop()
    await this.consumer?.stop()
  }
}
