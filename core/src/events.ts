import { z } from 'zod'
import { formatHlc, type Hlc, parseHlc } from './hlc.ts'
import { isId } from './ids.ts'
import { invariant } from './invariant.ts'
import { merchantIdSchema, regionIdSchema } from './registry.ts'

/**
 * The envelope every domain event travels in: through the outbox, across Kafka clusters, into
 * webhooks. Consumers dedupe by `id`; the replicator never ships an event back to its
 * `origin_region`; merges order by `hlc`.
 */
export const eventTypes = [
  'payment.created',
  'payment.capture_requested',
  'payment.cancel_requested',
  'payment.operation_failed',
  'payment.authorized',
  'payment.declined',
  'payment.failed',
  'payment.captured',
  'payment.canceled',
  'payment.expired',
  'payment.refunded',
  'refund.created',
  'refund.succeeded',
  'refund.failed',
  'ledger.entry_posted',
  'idempotency.recorded',
  'merchant.config_changed',
  'merchant.placement_changed',
  'webhook.replay_requested',
  'counter.incremented',
] as const
export type EventType = (typeof eventTypes)[number]

/** Bumped when an envelope or payload changes incompatibly; readers refuse versions they lack. */
export const eventSchemaVersion = 1

export const hlcTextSchema = z.string().refine((s) => parseHlc(s) !== undefined, 'malformed HLC')

export const eventEnvelopeSchema = z.strictObject({
  id: z.string().refine((s) => isId('event', s), 'malformed event id'),
  type: z.enum(eventTypes),
  merchant_id: merchantIdSchema,
  origin_region: regionIdSchema,
  hlc: hlcTextSchema,
  schema_version: z.literal(eventSchemaVersion),
  payload: z.record(z.string(), z.unknown()),
})

export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>

export interface NewEvent {
  readonly id: string
  readonly type: EventType
  readonly merchantId: string
  readonly originRegion: string
  readonly hlc: Hlc
  readonly payload: Record<string, unknown>
}

/**
 * Build an envelope from typed parts. Not re-validated with zod (this is the fast path and the
 * parts are typed); everything read off the wire goes through decodeEvent, which validates.
 */
export function envelope(e: NewEvent): EventEnvelope {
  invariant(isId('event', e.id), `malformed event id ${e.id}`)
  return {
    id: e.id,
    type: e.type,
    merchant_id: e.merchantId,
    origin_region: e.originRegion,
    hlc: formatHlc(e.hlc),
    schema_version: eventSchemaVersion,
    payload: e.payload,
  }
}

export type DecodeOutcome =
  | { readonly ok: true; readonly event: EventEnvelope }
  | { readonly ok: false; readonly reason: string }

/** Decode bytes off the wire; a malformed event is an outcome (to dead-letter), not a crash. */
export function decodeEvent(bytes: string | Uint8Array): DecodeOutcome {
  let raw: unknown
  try {
    raw = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes))
  } catch {
    return { ok: false, reason: 'not JSON' }
  }
  const parsed = eventEnvelopeSchema.safeParse(raw)
  if (!parsed.success) return { ok: false, reason: z.prettifyError(parsed.error) }
  return { ok: true, event: parsed.data }
}
