import {
  type CurrencyCode,
  invariant,
  isCurrencyCode,
  isPaymentStatus,
  type Operation,
  type OperationStatus,
  type Payment,
  type Refund,
  type RefundStatus,
} from '@meridian/core'

/** Postgres returns bigint as text; money must come back as an exact safe integer. */
export function toMinor(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value
  invariant(
    typeof n === 'number' && Number.isSafeInteger(n),
    `not an exact amount: ${String(value)}`,
  )
  return n
}

function currencyOf(value: unknown): CurrencyCode {
  const text = String(value).trim()
  invariant(isCurrencyCode(text), `unknown currency in database: ${text}`)
  return text
}

export type PaymentRow = Record<string, unknown>

export const paymentColumns = `id, merchant_id, amount, currency, status, capture_method, amount_captured,
  amount_refunded, amount_refund_pending, pending_operation, amount_capture_requested, payment_method,
  description, metadata, decline_code, failure_message, processor, processor_ref, authorized_at, origin_region, hlc,
  version, created_at`

export function rowToPayment(row: PaymentRow): Payment {
  const status = String(row.status)
  invariant(isPaymentStatus(status), `unknown status in database: ${status}`)
  const pending = row.pending_operation
  invariant(
    pending === null || pending === 'capture' || pending === 'cancel',
    'bad pending_operation',
  )
  const method = row.payment_method as Payment['paymentMethod']
  return {
    id: String(row.id),
    merchantId: String(row.merchant_id),
    amount: toMinor(row.amount),
    currency: currencyOf(row.currency),
    status,
    captureMethod: row.capture_method === 'manual' ? 'manual' : 'automatic',
    amountCaptured: toMinor(row.amount_captured),
    amountRefunded: toMinor(row.amount_refunded),
    amountRefundPending: toMinor(row.amount_refund_pending),
    pendingOperation: pending,
    amountCaptureRequested: toMinor(row.amount_capture_requested),
    paymentMethod: method,
    description: row.description === null ? null : String(row.description),
    metadata: (row.metadata ?? {}) as Record<string, string>,
    declineCode: row.decline_code === null ? null : String(row.decline_code),
    failureMessage: row.failure_message === null ? null : String(row.failure_message),
    processor: row.processor === null ? null : String(row.processor),
    processorRef: row.processor_ref === null ? null : String(row.processor_ref),
    authorizedAtMs: row.authorized_at === null ? null : (row.authorized_at as Date).getTime(),
    originRegion: String(row.origin_region),
    createdAtMs: (row.created_at as Date).getTime(),
    hlc: String(row.hlc),
    version: Number(row.version),
  }
}

export const refundColumns = `id, payment_id, merchant_id, amount, currency, status, reason, metadata,
  failure_message, processor_ref, origin_region, hlc, created_at`

export function rowToRefund(row: PaymentRow): Refund {
  const status = String(row.status)
  invariant(
    status === 'pending' || status === 'succeeded' || status === 'failed',
    `bad refund status ${status}`,
  )
  return {
    id: String(row.id),
    paymentId: String(row.payment_id),
    merchantId: String(row.merchant_id),
    amount: toMinor(row.amount),
    currency: currencyOf(row.currency),
    status: status as RefundStatus,
    reason: row.reason === null ? null : String(row.reason),
    metadata: (row.metadata ?? {}) as Record<string, string>,
    failureMessage: row.failure_message === null ? null : String(row.failure_message),
    processorRef: row.processor_ref === null ? null : String(row.processor_ref),
    originRegion: String(row.origin_region),
    createdAtMs: (row.created_at as Date).getTime(),
  }
}

export const operationColumns = `id, payment_id, merchant_id, kind, amount, currency, reason, status,
  failure_code, failure_message, origin_region, created_at`

export function rowToOperation(row: PaymentRow): Operation {
  const kind = String(row.kind)
  invariant(kind === 'capture' || kind === 'cancel', `bad operation kind ${kind}`)
  const status = String(row.status)
  invariant(
    status === 'pending' || status === 'succeeded' || status === 'failed',
    `bad operation status ${status}`,
  )
  return {
    id: String(row.id),
    paymentId: String(row.payment_id),
    merchantId: String(row.merchant_id),
    kind,
    amount: toMinor(row.amount),
    currency: currencyOf(row.currency),
    reason: row.reason === null ? null : String(row.reason),
    status: status as OperationStatus,
    failureCode: row.failure_code === null ? null : String(row.failure_code),
    failureMessage: row.failure_message === null ? null : String(row.failure_message),
    originRegion: String(row.origin_region),
    createdAtMs: (row.created_at as Date).getTime(),
  }
}
