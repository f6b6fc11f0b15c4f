import {
  type EventEnvelope,
  envelope,
  type Hlc,
  type HybridClock,
  newId,
  newPayment,
  type Payment,
} from '@meridian/core'
import type { OutMessage } from '@meridian/platform'

/**
 * A `payment.created` event as a region's fast path publishes it (payment snapshot plus its
 * idempotency record), and the Kafka message the relay would send for it: for feeding the
 * replication layer directly. `seq` makes the amount, card token and idempotency key distinct.
 */
export function paymentCreated(
  clock: HybridClock,
  merchantId: string,
  seq: number,
): { event: EventEnvelope; message: OutMessage } {
  const origin = clock.node
  const hlc = clock.now()
  const payment = testPayment(origin, hlc, merchantId, seq)
  const event = envelope({
    id: newId('event'),
    type: 'payment.created',
    merchantId,
    originRegion: origin,
    hlc,
    payload: {
      payment,
      idempotency: {
        merchantId,
        key: `k${seq}`,
        fingerprint: 'f',
        status: 202,
        body: '{}',
        resourceId: payment.id,
        originRegion: origin,
        hlc: payment.hlc,
      },
    },
  })
  const message = {
    key: merchantId,
    value: JSON.stringify(event),
    headers: { 'origin-region': origin, 'event-id': event.id },
  }
  return { event, message }
}

/** A new pending payment as the fast path creates it; `seq` makes amount and card distinct. */
export function testPayment(origin: string, hlc: Hlc, merchantId: string, seq: number): Payment {
  return newPayment({
    id: newId('payment'),
    merchantId,
    amount: 1000 + (seq % 900),
    currency: 'USD',
    captureMethod: 'automatic',
    paymentMethod: `tok_${seq}`,
    description: null,
    metadata: {},
    originRegion: origin,
    hlc,
  })
}
