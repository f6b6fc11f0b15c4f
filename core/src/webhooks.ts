import { z } from 'zod'
import type { EventEnvelope } from './events.ts'
import type { Operation } from './operations.ts'
import { type Payment, presentPayment, presentRefund, type Refund } from './payments.ts'
import { constantTimeEqual, hmacSha256Hex } from './signing.ts'

/**
 * Webhook signatures: `Meridian-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`,
 * keyed by the endpoint's secret. Receivers verify with `verifyWebhookSignature`, which refuses
 * anything older (or newer) than the tolerance, so a captured delivery cannot be replayed later.
 */
export const webhookSignatureHeader = 'Meridian-Signature'
export const webhookToleranceSec = 300

/**
 * Sign with every secret in `secrets` (newest first): while a secret is being rolled, a delivery
 * carries one `v1` per secret still valid, so receivers holding either copy accept it.
 */
export async function signWebhook(
  secrets: string | readonly string[],
  body: string,
  nowSec = Math.floor(Date.now() / 1000),
): Promise<string> {
  const all = typeof secrets === 'string' ? [secrets] : secrets
  if (all.length === 0) throw new Error('signWebhook needs at least one secret')
  const signatures = await Promise.all(all.map((s) => hmacSha256Hex(s, `${nowSec}.${body}`)))
  return [`t=${nowSec}`, ...signatures.map((v) => `v1=${v}`)].join(',')
}

/**
 * Rolling an endpoint's secret: the old one keeps signing deliveries (beside the new one) for
 * `expires_in` seconds, so merchants can deploy the new secret without dropping a delivery.
 */
export const webhookSecretOverlapSecDefault = 24 * 3600
export const webhookSecretOverlapSecMax = 7 * 24 * 3600

export type WebhookVerdict =
  | { readonly ok: true; readonly timestampSec: number }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'expired' | 'mismatch' }

export async function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowSec = Math.floor(Date.now() / 1000),
  toleranceSec = webhookToleranceSec,
): Promise<WebhookVerdict> {
  if (!header) return { ok: false, reason: 'missing' }
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]))
  const t = Number(parts.get('t'))
  const signatures = header
    .split(',')
    .filter((p) => p.startsWith('v1='))
    .map((p) => p.slice(3))
  if (!Number.isSafeInteger(t) || signatures.length === 0) return { ok: false, reason: 'malformed' }
  if (Math.abs(nowSec - t) > toleranceSec) return { ok: false, reason: 'expired' }
  const expected = await hmacSha256Hex(secret, `${t}.${body}`)
  // Several v1 signatures may be present while a secret is being rolled; any one may match.
  if (!signatures.some((s) => constantTimeEqual(s, expected)))
    return { ok: false, reason: 'mismatch' }
  return { ok: true, timestampSec: t }
}

/** Event types merchants can subscribe to: every payment and refund event. */
export function isMerchantFacing(type: string): boolean {
  return type.startsWith('payment.') || type.startsWith('refund.')
}

/** The body a merchant receives: Stripe-shaped event with the object as it is now. */
export function presentWebhookEvent(
  event: EventEnvelope,
  createdSec: number,
): Record<string, unknown> {
  const payload = event.payload as {
    payment?: Payment
    refund?: Refund
    operation?: Operation
    code?: string
  }
  const object = payload.refund
    ? presentRefund(payload.refund)
    : payload.payment
      ? presentPayment(payload.payment)
      : {}
  return {
    id: event.id,
    object: 'event',
    type: event.type,
    created: createdSec,
    region: event.origin_region,
    data: {
      object,
      // The capture or cancel this event is about: which, its id, and why it failed.
      ...(payload.operation
        ? {
            operation: payload.operation.kind,
            operation_id: payload.operation.id,
            ...(payload.code ? { code: payload.code } : {}),
            ...(payload.operation.failureMessage
              ? { failure_message: payload.operation.failureMessage }
              : {}),
          }
        : {}),
    },
  }
}

/** Request bodies of the webhook endpoint API (the OpenAPI document is generated from them). */
export const webhookUrlCharsMax = 2048

export const createEndpointSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }).max(webhookUrlCharsMax),
  enabled_events: z
    .array(z.string().regex(/^(\*|(payment|refund)\.[a-z_]+)$/))
    .min(1)
    .max(50)
    .optional(),
  description: z.string().max(500).optional(),
})

export const replaySchema = z.strictObject({ event_id: z.string().max(64).optional() })

export const rollSecretSchema = z.strictObject({
  /** Seconds the current secret stays valid beside the new one; 0 retires it at once. */
  expires_in: z.number().int().min(0).max(webhookSecretOverlapSecMax).optional(),
})
