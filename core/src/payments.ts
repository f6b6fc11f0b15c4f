import { z } from 'zod'
import type { PaymentObject, RefundObject } from './api-objects.ts'
import { type CardDetails, cardFor, paymentMethodPattern } from './cards.ts'
import { type CurrencyCode, currencyExponents } from './currencies.ts'
import { errors, MeridianError } from './errors.ts'
import { formatHlc, type Hlc } from './hlc.ts'
import { paymentAmountMinorMax } from './money.ts'
import type { PaymentStatus } from './payment-status.ts'

/** Request bodies of the public API. The OpenAPI document is generated from these same schemas. */
export const metadataKeysMax = 50
export const metadataKeyCharsMax = 40
export const metadataValueCharsMax = 500
export const descriptionCharsMax = 1000

const amountSchema = z
  .number()
  .int('amount must be an integer number of minor units')
  .positive('amount must be positive')
  .max(paymentAmountMinorMax, `amount must be at most ${paymentAmountMinorMax}`)

const currencyCodes = Object.keys(currencyExponents)
/** An enum rather than a refinement, so the generated OpenAPI schema says exactly what is accepted. */
const currencySchema = z.enum([...currencyCodes.map((c) => c.toLowerCase()), ...currencyCodes], {
  error: 'currency must be a three-letter ISO 4217 code we support, such as usd or EUR',
})

export const metadataSchema = z
  .record(z.string().min(1).max(metadataKeyCharsMax), z.string().max(metadataValueCharsMax))
  .refine(
    (m) => Object.keys(m).length <= metadataKeysMax,
    `metadata has at most ${metadataKeysMax} keys`,
  )

export const createPaymentSchema = z.strictObject({
  amount: amountSchema,
  currency: currencySchema,
  payment_method: z
    .string()
    .regex(
      paymentMethodPattern,
      'payment_method must be a card token (tok_…) or test card (pm_card_…)',
    ),
  capture_method: z.enum(['automatic', 'manual']).optional(),
  description: z.string().max(descriptionCharsMax).optional(),
  metadata: metadataSchema.optional(),
})
export type CreatePaymentRequest = z.infer<typeof createPaymentSchema>

export const capturePaymentSchema = z.strictObject({ amount: amountSchema.optional() })
export const cancelPaymentSchema = z.strictObject({
  cancellation_reason: z
    .enum(['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'])
    .optional(),
})
export const createRefundSchema = z.strictObject({
  amount: amountSchema.optional(),
  reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
  metadata: metadataSchema.optional(),
})

export const listLimitMax = 100
export const listPaymentsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(listLimitMax).optional(),
  starting_after: z.string().max(64).optional(),
})

export type CaptureMethod = 'automatic' | 'manual'
export type PendingOperation = 'capture' | 'cancel' | null

/** A payment as the domain sees it; adapters map rows to and from this. */
export interface Payment {
  readonly id: string
  readonly merchantId: string
  readonly amount: number
  readonly currency: CurrencyCode
  readonly status: PaymentStatus
  readonly captureMethod: CaptureMethod
  readonly amountCaptured: number
  readonly amountRefunded: number
  /** Sum of refunds accepted but not yet confirmed by the processor. */
  readonly amountRefundPending: number
  readonly pendingOperation: PendingOperation
  readonly amountCaptureRequested: number
  readonly paymentMethod: { readonly token: string } & Omit<CardDetails, 'testBehavior'>
  readonly description: string | null
  readonly metadata: Readonly<Record<string, string>>
  readonly declineCode: string | null
  readonly failureMessage: string | null
  readonly processor: string | null
  /** What the processor calls this payment (charge id, pspReference, auth id). */
  readonly processorRef: string | null
  readonly authorizedAtMs: number | null
  readonly originRegion: string
  readonly createdAtMs: number
  /** Hybrid logical clock of the last change, formatted; merges compare it. */
  readonly hlc: string
  /** Bumped on every local write; detects lost updates. */
  readonly version: number
}

export function paymentMethodFor(token: string): Payment['paymentMethod'] {
  const { brand, last4 } = cardFor(token)
  return { token, brand, last4 }
}

/** What a create request decides; everything else of a new payment starts empty. */
export interface NewPaymentFields {
  readonly id: string
  readonly merchantId: string
  readonly amount: number
  readonly currency: CurrencyCode
  readonly captureMethod: Payment['captureMethod']
  /** The card token (`pm_card_visa`). */
  readonly paymentMethod: string
  readonly description: string | null
  readonly metadata: Readonly<Record<string, string>>
  readonly originRegion: string
  readonly hlc: Hlc
  /** Set when tier-1 fraud rules refused it: recorded as declined, with the reason. */
  readonly declined?: { readonly code: string; readonly message: string }
}

/** A payment as its create makes it: pending (or declined by rule), nothing captured yet. */
export function newPayment(f: NewPaymentFields): Payment {
  return {
    id: f.id,
    merchantId: f.merchantId,
    amount: f.amount,
    currency: f.currency,
    status: f.declined ? 'declined' : 'pending',
    captureMethod: f.captureMethod,
    amountCaptured: 0,
    amountRefunded: 0,
    amountRefundPending: 0,
    pendingOperation: null,
    amountCaptureRequested: 0,
    paymentMethod: paymentMethodFor(f.paymentMethod),
    description: f.description,
    metadata: f.metadata,
    declineCode: f.declined?.code ?? null,
    failureMessage: f.declined?.message ?? null,
    processor: null,
    processorRef: null,
    authorizedAtMs: null,
    originRegion: f.originRegion,
    createdAtMs: f.hlc.wallMs,
    hlc: formatHlc(f.hlc),
    version: 1,
  }
}

/** The public payment object, Stripe-shaped: snake_case, lowercase currency, unix seconds. */
export function presentPayment(p: Payment): PaymentObject {
  const capturable = p.status === 'authorized' && p.pendingOperation === null ? p.amount : 0
  return {
    id: p.id,
    object: 'payment',
    amount: p.amount,
    amount_capturable: capturable,
    amount_received: p.amountCaptured,
    amount_refunded: p.amountRefunded,
    currency: p.currency.toLowerCase(),
    status: p.status,
    capture_method: p.captureMethod,
    processing:
      p.pendingOperation === null
        ? null
        : {
            operation: p.pendingOperation,
            ...(p.pendingOperation === 'capture' ? { amount: p.amountCaptureRequested } : {}),
          },
    payment_method: {
      type: 'card',
      token: p.paymentMethod.token,
      card: { brand: p.paymentMethod.brand, last4: p.paymentMethod.last4 },
    },
    description: p.description,
    metadata: p.metadata,
    decline_code: p.declineCode,
    failure_message: p.failureMessage,
    region: p.originRegion,
    created: Math.floor(p.createdAtMs / 1000),
    livemode: false,
  }
}

function busy(p: Payment, action: string): MeridianError | undefined {
  if (p.pendingOperation === null) return undefined
  return new MeridianError({
    kind: 'conflict',
    code: 'payment_invalid_state',
    message: `Payment ${p.id} cannot be ${action} while a ${p.pendingOperation} is being processed.`,
    details: { status: p.status, processing: p.pendingOperation },
  })
}

export type Plan<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: MeridianError }

/** Capture all or part of an authorization. Partial capture releases the rest of the hold. */
export function planCapture(p: Payment, amount: number | undefined): Plan<{ amount: number }> {
  if (p.status !== 'authorized')
    return { ok: false, error: errors.invalidState(p.id, p.status, 'captured') }
  const pending = busy(p, 'captured')
  if (pending) return { ok: false, error: pending }
  const value = amount ?? p.amount
  if (value > p.amount) {
    return {
      ok: false,
      error: new MeridianError({
        kind: 'invalid_request',
        code: 'amount_exceeds_capturable',
        message: `Cannot capture ${value}: at most ${p.amount} is capturable.`,
        param: 'amount',
      }),
    }
  }
  return { ok: true, value: { amount: value } }
}

export function planCancel(p: Payment): Plan<null> {
  if (p.status !== 'authorized')
    return { ok: false, error: errors.invalidState(p.id, p.status, 'canceled') }
  const pending = busy(p, 'canceled')
  if (pending) return { ok: false, error: pending }
  return { ok: true, value: null }
}

/** Refund all or part of what was captured, never more than is left after other refunds. */
export function planRefund(p: Payment, amount: number | undefined): Plan<{ amount: number }> {
  if (p.status !== 'captured' && p.status !== 'partially_refunded') {
    return { ok: false, error: errors.invalidState(p.id, p.status, 'refunded') }
  }
  const refundable = p.amountCaptured - p.amountRefunded - p.amountRefundPending
  const value = amount ?? refundable
  if (value <= 0 || value > refundable) {
    return {
      ok: false,
      error: new MeridianError({
        kind: 'invalid_request',
        code: 'amount_exceeds_refundable',
        message: `Cannot refund ${value}: ${refundable} of ${p.amountCaptured} captured is left to refund.`,
        param: 'amount',
      }),
    }
  }
  return { ok: true, value: { amount: value } }
}

export type RefundStatus = 'pending' | 'succeeded' | 'failed'

export interface Refund {
  readonly id: string
  readonly paymentId: string
  readonly merchantId: string
  readonly amount: number
  readonly currency: CurrencyCode
  readonly status: RefundStatus
  readonly reason: string | null
  readonly metadata: Readonly<Record<string, string>>
  readonly failureMessage: string | null
  readonly processorRef: string | null
  readonly originRegion: string
  readonly createdAtMs: number
}

export function presentRefund(r: Refund): RefundObject {
  return {
    id: r.id,
    object: 'refund',
    payment: r.paymentId,
    amount: r.amount,
    currency: r.currency.toLowerCase(),
    status: r.status,
    reason: r.reason,
    metadata: r.metadata,
    failure_message: r.failureMessage,
    region: r.originRegion,
    created: Math.floor(r.createdAtMs / 1000),
  }
}
