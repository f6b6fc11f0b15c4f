import { SignatureVerificationError } from './errors.ts'
import type { Payment, Refund } from './types.ts'

/**
 * Verifying deliveries: `Meridian-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
 * While an endpoint's secret is being rolled, a delivery carries one `v1` per valid secret; any
 * one that matches will do. WebCrypto only, so it runs wherever `fetch` does.
 */
export const signatureHeader = 'Meridian-Signature'
/** Deliveries signed longer ago (or further ahead) than this are refused: a replayed capture. */
export const toleranceSecDefault = 300

export const paymentEventTypes = [
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
] as const
export const refundEventTypes = ['refund.created', 'refund.succeeded', 'refund.failed'] as const

interface EventBase {
  readonly id: string
  readonly object: 'event'
  readonly created: number
  /** The region where the event happened. */
  readonly region: string
}

export interface PaymentEvent extends EventBase {
  readonly type: (typeof paymentEventTypes)[number]
  readonly data: {
    readonly object: Payment
    /** The capture or cancel the event is about, and why it failed (`payment.operation_failed`). */
    readonly operation?: 'capture' | 'cancel'
    readonly operation_id?: string
    readonly code?: string
    readonly failure_message?: string
  }
}

export interface RefundEvent extends EventBase {
  readonly type: (typeof refundEventTypes)[number]
  readonly data: { readonly object: Refund }
}

/** What a webhook delivers; `type` tells which object `data.object` is. */
export type WebhookEvent = PaymentEvent | RefundEvent

const encoder = new TextEncoder()

/**
 * The event a delivery carries, once its signature is verified against `secret` (or any of
 * `secret`, while a receiver holds several). Pass the body exactly as received, before any
 * JSON parsing: a re-serialized body does not verify. Throws SignatureVerificationError.
 */
export async function constructEvent(
  rawBody: string | Uint8Array,
  header: string | null | undefined,
  secret: string | readonly string[],
  toleranceSec: number = toleranceSecDefault,
  nowSec: number = Math.floor(Date.now() / 1000),
): Promise<WebhookEvent> {
  const body = typeof rawBody === 'string' ? encoder.encode(rawBody) : rawBody
  const signed = parseHeader(header)
  if (Math.abs(nowSec - signed.timestampSec) > toleranceSec)
    throw new SignatureVerificationError(
      'stale',
      `Signed at ${signed.timestampSec}, more than ${toleranceSec} s from now (${nowSec}).`,
    )
  const message = concat(encoder.encode(`${signed.timestampSec}.`), body)
  const secrets = typeof secret === 'string' ? [secret] : secret
  if (!(await anyMatches(secrets, signed.signatures, message)))
    throw new SignatureVerificationError(
      'mismatch',
      'No signature matches the body with the secret given.',
    )
  try {
    return JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body),
    ) as WebhookEvent
  } catch {
    throw new SignatureVerificationError('body_invalid', 'The signed body is not UTF-8 JSON.')
  }
}

interface SignedHeader {
  readonly timestampSec: number
  readonly signatures: readonly Uint8Array[]
}

function parseHeader(header: string | null | undefined): SignedHeader {
  if (!header) throw new SignatureVerificationError('missing', `No ${signatureHeader} header.`)
  let timestampSec: number | undefined
  const signatures: Uint8Array[] = []
  for (const part of header.split(',')) {
    const at = part.indexOf('=')
    const scheme = part.slice(0, at).trim()
    const value = part.slice(at + 1).trim()
    if (scheme === 't' && /^\d{1,12}$/.test(value)) timestampSec = Number(value)
    // Other schemes (a future v2) are skipped, so a receiver keeps working while they roll out.
    if (scheme === 'v1') {
      const bytes = fromHex(value)
      if (bytes) signatures.push(bytes)
    }
  }
  if (timestampSec === undefined || signatures.length === 0)
    throw new SignatureVerificationError(
      'malformed',
      `${signatureHeader} needs t=<unix seconds> and at least one v1=<64 hex digits>.`,
    )
  return { timestampSec, signatures }
}

/**
 * WebCrypto's `verify` compares the MAC in constant time, so how much of a forged signature was
 * right does not show in how long the refusal took.
 */
async function anyMatches(
  secrets: readonly string[],
  signatures: readonly Uint8Array[],
  message: Uint8Array,
): Promise<boolean> {
  for (const secret of secrets) {
    const key = await crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    )
    for (const signature of signatures)
      if (
        await crypto.subtle.verify(
          'HMAC',
          key,
          signature as Uint8Array<ArrayBuffer>,
          message as Uint8Array<ArrayBuffer>,
        )
      )
        return true
  }
  return false
}

function fromHex(text: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{64}$/i.test(text)) return undefined
  const bytes = new Uint8Array(32)
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** `meridian.webhooks` and the standalone export: verification needs no API key. */
export const webhooks = { constructEvent, signatureHeader, toleranceSecDefault } as const
