import { decodeEvent, type EventType } from '@meridian/core'
import type { BusConsumer, KafkaBus } from '../adapters/kafka.ts'
import type { Logger } from '../log.ts'
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
}

/**
 * Processor workers: a Kafka consumer group on the region's events topic. A batch's payments are
 * advanced concurrently (each payment's own events in order), and offsets are committed after the
 * batch. A payment that fails is logged and left to the reconciler: one bad payment never stalls
 * a partition.
 */
export class ProcessorWorker {
  private consumer: BusConsumer | undefined

  constructor(
    private readonly bus: KafkaBus,
    private readonly flow: PaymentFlow,
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const limit = limitConcurrency(this.options.concurrencyMax ?? 64)
    this.consumer = this.bus.consumer({
      groupId: this.options.groupId,
      topics: [this.options.topic],
      fromBeginning: true,
    })
    await this.consumer.start(async (batch) => {
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
          limit(() =>
            this.flow.advance(id).catch((error: unknown) => {
              this.log.error('advancing a payment failed; the reconciler will retry it', {
                paymentId: id,
                error,
              })
            }),
          ),
        ),
      )
    })
  }

  async stop(): Promise<void> {
    await this.consumer?.stop()
  }
}
