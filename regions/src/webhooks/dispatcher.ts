import { decodeEvent, isMerchantFacing, newId, presentWebhookEvent } from '@meridian/core'
import type { BusConsumer, KafkaBus, Logger } from '@meridian/platform'
import type pg from 'pg'

/**
 * Turns merchant-facing events into deliveries, one per subscribed endpoint. The unique
 * (endpoint, event) pair makes a re-read Kafka message harmless.
 */
export class WebhookDispatcher {
  private consumer: BusConsumer | undefined

  constructor(
    private readonly bus: KafkaBus,
    private readonly pool: pg.Pool,
    private readonly options: { topic: string; groupId: string; onQueued: () => void },
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.consumer = this.bus.consumer({
      groupId: this.options.groupId,
      topics: [this.options.topic],
      fromBeginning: true,
    })
    await this.consumer.start(async (batch) => {
      const rows: [string, string, string, string, string, string][] = []
      const events = batch.messages.flatMap((m) => {
        const d = decodeEvent(m.value ?? '')
        if (!d.ok)
          this.log.error('undecodable event skipped by webhooks', {
            offset: m.offset,
            reason: d.reason,
          })
        return d.ok && isMerchantFacing(d.event.type)
          ? [{ event: d.event, createdSec: Math.floor(m.timestampMs / 1000) }]
          : []
      })
      if (events.length === 0) return
      const merchants = [...new Set(events.map((e) => e.event.merchant_id))]
      const { rows: endpoints } = await this.pool.query<{
        id: string
        merchant_id: string
        enabled_events: string[]
      }>(
        `select id, merchant_id, enabled_events from webhook_endpoints where status = 'enabled' and merchant_id = any($1)`,
        [merchants],
      )
      for (const { event, createdSec } of events) {
        for (const ep of endpoints) {
          if (ep.merchant_id !== event.merchant_id) continue
          if (!ep.enabled_events.includes('*') && !ep.enabled_events.includes(event.type)) continue
          rows.push([
            newId('webhookDelivery'),
            ep.id,
            event.merchant_id,
            event.id,
            event.type,
            JSON.stringify(presentWebhookEvent(event, createdSec)),
          ])
        }
      }
      if (rows.length === 0) return
      await this.pool.query(
        `insert into webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         on conflict (endpoint_id, event_id) do nothing`,
        [0, 1, 2, 3, 4, 5].map((i) => rows.map((r) => r[i])),
      )
      this.options.onQueued()
    })
  }

  async stop(): Promise<void> {
    await this.consumer?.stop()
  }
}
