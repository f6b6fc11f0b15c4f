import type { CurrencyCode } from './currencies.ts'
import { canonicalJson } from './idempotency.ts'
import { deriveId } from './ids.ts'
import { statusRank } from './merge.ts'
import type { PaymentStatus } from './payment-status.ts'
import type { Payment, Refund } from './payments.ts'

/**
 * Captures and cancels are objects of their own, like refunds: each request (or system decision:
 * automatic capture, expiry, compensation) is one operation with its own id and its own small
 * lattice, pending → succeeded | failed. Regions replicate operations as a set keyed by id, so
 * two regions that each accepted one during a partition both keep theirs, each reaches a final
 * state from the processor's answer, and nothing one region decided is overwritten by another's
 * snapshot. The payment's own "in progress" fields are derived from these sets (settlePayment).
 */
export type OperationKind = 'capture' | 'cancel'
export type OperationStatus = 'pending' | 'succeeded' | 'failed'

export interface Operation {
  /**
   * Also the processor idempotency key of the call it makes: `op_…` derived from the request
   * (or from the payment and the system decision), so every region sends the same key.
   */
  readonly id: string
  readonly paymentId: string
  readonly merchantId: string
  readonly kind: OperationKind
  /** Minor units to capture; 0 for a cancel. */
  readonly amount: number
  readonly currency: CurrencyCode
  /** A cancel's reason: the merchant's cancellation_reason, `expired` or `duplicate`. */
  readonly reason: string | null
  readonly status: OperationStatus
  readonly failureCode: string | null
  readonly failureMessage: string | null
  readonly originRegion: string
  readonly createdAtMs: number
}

/** Why the system, not a merchant, asked for an operation: part of its derived id. */
export type SystemDecision = 'auto-capture' | 'expire' | 'compensate'

/** The operation id for a decision the system takes about a payment: the same in every region. */
export function systemOperationId(paymentId: string, decision: SystemDecision): Promise<string> {
  return deriveId('operation', paymentId, decision)
}

/** The n-th compensating refund of a duplicate payment (n counts earlier ones that failed). */
export function compensationRefundId(paymentId: string, n: number): Promise<string> {
  return deriveId('refund', paymentId, 'compensate', String(n))
}

/** Processor idempotency keys: derived from the operation's identity, never from the request. */
export const processorKeys = {
  authorize: (paymentId: string) => `${paymentId}:authorize`,
  operation: (op: Pick<Operation, 'id'>) => op.id,
  refund: (refund: Pick<Refund, 'id'>) => `${refund.id}:refund`,
}

const operationRank: Readonly<Record<OperationStatus, number>> = {
  pending: 0,
  failed: 1,
  succeeded: 2,
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Operations: pending → succeeded | failed, and succeeded outranks failed (the money moved). Two
 * snapshots of one id can only differ in what is known of it; a tie is broken on the content.
 */
export function mergeOperation(a: Operation, b: Operation): Operation {
  if (a.id !== b.id) throw new Error(`cannot merge ${a.id} with ${b.id}`)
  const byStatus = operationRank[a.status] - operationRank[b.status]
  if (byStatus !== 0) return byStatus > 0 ? a : b
  return compareText(canonicalJson(a), canonicalJson(b)) >= 0 ? a : b
}

/** Oldest first, then by id: the order every region processes a payment's open operations in. */
export function byCreation<T extends { readonly createdAtMs: number; readonly id: string }>(
  a: T,
  b: T,
): number {
  return a.createdAtMs - b.createdAtMs || compareText(a.id, b.id)
}

const capturedFamily: readonly PaymentStatus[] = ['captured', 'partially_refunded', 'refunded']

export function isCapturedFamily(status: PaymentStatus): boolean {
  return capturedFamily.includes(status)
}

const sum = (xs: readonly { readonly amount: number }[]) => xs.reduce((s, x) => s + x.amount, 0)

/**
 * The payment as its operations and refunds say it is: what is being processed (the oldest open
 * operation), what was refunded and what is pending, and so whether it is captured, partially
 * refunded or refunded. Every region derives these from the same sets, after every local change
 * and every merge, so two regions' refunds add up instead of one snapshot hiding the other's.
 * The refunded amount never drops below the snapshot's own (a snapshot may count a refund whose
 * own event has not arrived yet), and the status never moves backwards.
 */
export function settlePayment(
  p: Payment,
  operations: readonly Operation[],
  refunds: readonly Refund[],
): Payment {
  const mine = (x: { readonly paymentId: string }) => x.paymentId === p.id
  const refunded = Math.max(
    p.amountRefunded,
    sum(refunds.filter((r) => mine(r) && r.status === 'succeeded')),
  )
  const refundPending = sum(refunds.filter((r) => mine(r) && r.status === 'pending'))
  const open = operations.filter((o) => mine(o) && o.status === 'pending').sort(byCreation)[0]
  let status = p.status
  if (isCapturedFamily(status) && p.amountCaptured > 0) {
    const derived: PaymentStatus =
      refunded === 0 ? 'captured' : refunded >= p.amountCaptured ? 'refunded' : 'partially_refunded'
    if (statusRank[derived] > statusRank[status]) status = derived
  }
  const next: Payment = {
    ...p,
    status,
    amountRefunded: refunded,
    amountRefundPending: refundPending,
    pendingOperation: open?.kind ?? null,
    amountCaptureRequested: open?.kind === 'capture' ? open.amount : 0,
  }
  return samePayment(next, p) ? p : next
}

function samePayment(a: Payment, b: Payment): boolean {
  return (
    a.status === b.status &&
    a.amountRefunded === b.amountRefunded &&
    a.amountRefundPending === b.amountRefundPending &&
    a.pendingOperation === b.pendingOperation &&
    a.amountCaptureRequested === b.amountCaptureRequested
  )
}

/**
 * The next thing to do for a payment, from its state alone (never from the event that woke the
 * worker): authorize a pending payment; send its oldest open operation, or fail it when the
 * processor-confirmed state already makes it impossible (a capture of a payment another region
 * canceled); then send, or fail, its oldest pending refund. Failing without asking is safe only
 * because every state past `pending` came from a processor's answer: a canceled authorization
 * cannot be captured, and refunds the processor confirmed already use up what was captured.
 */
export type Step =
  | { readonly kind: 'authorize' }
  | { readonly kind: 'send_operation'; readonly operation: Operation }
  | {
      readonly kind: 'fail_operation'
      readonly operation: Operation
      readonly code: string
      readonly message: string
    }
  | { readonly kind: 'send_refund'; readonly refund: Refund }
  | {
      readonly kind: 'fail_refund'
      readonly refund: Refund
      readonly code: string
      readonly message: string
    }
  | { readonly kind: 'none' }

export function nextStep(
  p: Payment,
  operations: readonly Operation[],
  refunds: readonly Refund[],
): Step {
  if (p.status === 'pending') return { kind: 'authorize' }
  const open = operations.filter((o) => o.paymentId === p.id && o.status === 'pending')
  const op = [...open].sort(byCreation)[0]
  if (op) {
    if (p.status === 'authorized') return { kind: 'send_operation', operation: op }
    const what = op.kind === 'capture' ? 'captured' : 'canceled'
    return {
      kind: 'fail_operation',
      operation: op,
      code: `payment_${p.status}`,
      message: `The payment could not be ${what}: it is ${p.status.replace('_', ' ')}.`,
    }
  }
  const refund = refunds
    .filter((r) => r.paymentId === p.id && r.status === 'pending')
    .sort(byCreation)[0]
  if (!refund || !isCapturedFamily(p.status)) return { kind: 'none' }
  const left = p.amountCaptured - p.amountRefunded
  if (refund.amount > left) {
    return {
      kind: 'fail_refund',
      refund,
      code: 'amount_exceeds_refundable',
      message: `Cannot refund ${refund.amount}: ${left} of ${p.amountCaptured} captured is left to refund.`,
    }
  }
  return { kind: 'send_refund', refund }
}

/** What a cancel that succeeded makes of the payment. */
export function canceledStatus(op: Pick<Operation, 'reason'>): 'canceled' | 'expired' {
  return op.reason === 'expired' ? 'expired' : 'canceled'
}

/**
 * Two payments under one Idempotency-Key (a changed request accepted by two regions during a
 * partition, or rows written before ids derived from requests): the later one is undone, by the
 * processor, as a merchant would: an authorization is canceled, what was captured is refunded.
 * Decided from the duplicate's state alone, so every pass of every region decides alike; the
 * ids are derived, so deciding twice asks the processor once.
 */
export type Compensation =
  | { readonly kind: 'wait'; readonly why: string }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'refund'; readonly amount: number; readonly attempt: number }
  | { readonly kind: 'done'; readonly outcome: 'canceled' | 'refunded' | 'nothing_charged' }

export function compensationFor(
  p: Payment,
  operations: readonly Operation[],
  refunds: readonly Refund[],
): Compensation {
  const mine = refunds.filter((r) => r.paymentId === p.id)
  switch (p.status) {
    case 'pending':
      return { kind: 'wait', why: 'not authorized yet' }
    case 'declined':
    case 'failed':
      return { kind: 'done', outcome: 'nothing_charged' }
    case 'canceled':
    case 'expired':
      return { kind: 'done', outcome: 'canceled' }
    case 'authorized':
      return operations.some((o) => o.paymentId === p.id && o.status === 'pending')
        ? { kind: 'wait', why: 'a capture or cancel is in progress' }
        : { kind: 'cancel' }
    default: {
      if (mine.some((r) => r.status === 'pending'))
        return { kind: 'wait', why: 'a refund is in progress' }
      const left = p.amountCaptured - p.amountRefunded
      if (left <= 0) return { kind: 'done', outcome: 'refunded' }
      const attempt = mine.filter((r) => r.reason === 'duplicate' && r.status === 'failed').length
      return { kind: 'refund', amount: left, attempt }
    }
  }
}

/**
 * Which of several payments made under one key is kept: the one the idempotency record (merged
 * to the earliest everywhere) points at, else the earliest created. The rest are duplicates.
 */
export function keptPayment(
  payments: readonly Pick<Payment, 'id' | 'createdAtMs'>[],
  recordPointsAt: string,
): string | undefined {
  if (payments.some((p) => p.id === recordPointsAt)) return recordPointsAt
  return [...payments].sort((a, b) => a.createdAtMs - b.createdAtMs || compareText(a.id, b.id))[0]
    ?.id
}

/** Everything a payment's next step is decided from: the payment, its operations and refunds. */
export interface PaymentState {
  readonly payment: Payment
  readonly operations: readonly Operation[]
  readonly refunds: readonly Refund[]
}
