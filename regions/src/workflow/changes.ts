import type { PaymentState } from '@meridian/core'
import {
  canceledStatus,
  canReach,
  canTransition,
  captureEntry,
  type EventEnvelope,
  formatHlc,
  type HybridClock,
  holdEntry,
  invariant,
  type JournalEntry,
  type Operation,
  type Payment,
  type PaymentStatus,
  type Refund,
  refundEntry,
  releaseEntry,
  settlePayment,
} from '@meridian/core'
import { makeEvent } from '../payments/events.ts'

/**
 * What one processor outcome does to a payment: its next state, the operation or refund it
 * settles, the ledger entries and the events, written together in one transaction by
 * applyChange. Every status change here is checked against the transition table, and the
 * payment's derived fields are settled from its operations and refunds as they will be.
 */
export interface Change {
  readonly payment: Payment
  readonly entries: readonly JournalEntry[]
  readonly events: readonly EventEnvelope[]
  readonly refund?: Refund
  /** Inserted, or moved to its final status. */
  readonly operation?: Operation
}

function next(
  clock: HybridClock,
  s: PaymentState,
  changes: Partial<Payment>,
  settled: { operation?: Operation; refund?: Refund } = {},
): Payment {
  const p = s.payment
  const status: PaymentStatus = changes.status ?? p.status
  invariant(
    status === p.status || canTransition(p.status, status),
    `illegal transition ${p.status} → ${status} for ${p.id}`,
  )
  const operations = replace(s.operations, settled.operation)
  const refunds = replace(s.refunds, settled.refund)
  const moved = { ...p, ...changes, hlc: formatHlc(clock.now()), version: p.version + 1 }
  const payment = settlePayment(moved, operations, refunds)
  invariant(canReach(p.status, payment.status), `${p.id} would move back to ${payment.status}`)
  return payment
}

function replace<T extends { readonly id: string }>(xs: readonly T[], x: T | undefined): T[] {
  if (!x) return [...xs]
  return [...xs.filter((y) => y.id !== x.id), x]
}

function processorOf(p: Payment): string {
  invariant(p.processor !== null, `payment ${p.id} has no processor`)
  return p.processor
}

/**
 * The authorization succeeded. Automatic capture asks for the capture in the same breath: an
 * operation whose id (`autoCaptureId`, derived from the payment) is the same in every region
 * that authorizes this payment, so the processor captures once.
 */
export function authorized(
  clock: HybridClock,
  s: PaymentState,
  processorRef: string,
  autoCaptureId: string,
): Change {
  const p = s.payment
  const hold = holdEntry(p, processorOf(p))
  const capture: Operation | undefined =
    p.captureMethod === 'automatic' && !s.operations.some((o) => o.id === autoCaptureId)
      ? {
          id: autoCaptureId,
          paymentId: p.id,
          merchantId: p.merchantId,
          kind: 'capture',
          amount: p.amount,
          currency: p.currency,
          reason: null,
          status: 'pending',
          failureCode: null,
          failureMessage: null,
          originRegion: clock.node,
          createdAtMs: Date.now(),
        }
      : undefined
  const payment = next(
    clock,
    s,
    { status: 'authorized', processorRef, authorizedAtMs: Date.now() },
    capture ? { operation: capture } : {},
  )
  return {
    payment,
    entries: [hold],
    ...(capture ? { operation: capture } : {}),
    events: [
      makeEvent(
        clock,
        'payment.authorized',
        p.merchantId,
        { payment, entries: [hold], ...(capture ? { operation: capture } : {}) },
        p.id,
      ),
    ],
  }
}

export function declined(
  clock: HybridClock,
  s: PaymentState,
  code: string,
  message: string,
): Change {
  const payment = next(clock, s, { status: 'declined', declineCode: code, failureMessage: message })
  return {
    payment,
    entries: [],
    events: [makeEvent(clock, 'payment.declined', payment.merchantId, { payment }, payment.id)],
  }
}

export function failed(clock: HybridClock, s: PaymentState, message: string): Change {
  const payment = next(clock, s, { status: 'failed', failureMessage: message })
  return {
    payment,
    entries: [],
    events: [makeEvent(clock, 'payment.failed', payment.merchantId, { payment }, payment.id)],
  }
}

export function captured(clock: HybridClock, s: PaymentState, op: Operation): Change {
  const p = s.payment
  const operation: Operation = { ...op, status: 'succeeded' }
  const payment = next(clock, s, { status: 'captured', amountCaptured: op.amount }, { operation })
  const entries = [captureEntry(p, processorOf(p), op.amount)]
  return {
    payment,
    operation,
    entries,
    events: [
      makeEvent(clock, 'payment.captured', p.merchantId, { payment, operation, entries }, op.id),
    ],
  }
}

/**
 * A capture or cancel that cannot happen: the processor refused it, or the payment's confirmed
 * state already rules it out. Final, with its reason, and the merchant hears of it by webhook.
 */
export function operationFailed(
  clock: HybridClock,
  s: PaymentState,
  op: Operation,
  code: string,
  message: string,
): Change {
  const operation: Operation = {
    ...op,
    status: 'failed',
    failureCode: code,
    failureMessage: message,
  }
  const payment = next(clock, s, { failureMessage: message }, { operation })
  return {
    payment,
    operation,
    entries: [],
    events: [
      makeEvent(
        clock,
        'payment.operation_failed',
        payment.merchantId,
        { payment, operation, code },
        op.id,
      ),
    ],
  }
}

/** A cancel (the merchant's, an expiry or a compensation) the processor confirmed. */
export function released(clock: HybridClock, s: PaymentState, op: Operation): Change {
  const p = s.payment
  const status = canceledStatus(op)
  const operation: Operation = { ...op, status: 'succeeded' }
  const payment = next(clock, s, { status }, { operation })
  const entries = [releaseEntry(p, processorOf(p))]
  const type = status === 'canceled' ? 'payment.canceled' : 'payment.expired'
  return {
    payment,
    operation,
    entries,
    events: [makeEvent(clock, type, p.merchantId, { payment, operation, entries }, op.id)],
  }
}

/** A new capture or cancel the system decided (expiry, compensation): pending, like a request. */
export function operationRequested(clock: HybridClock, s: PaymentState, op: Operation): Change {
  const payment = next(clock, s, {}, { operation: op })
  const type = op.kind === 'capture' ? 'payment.capture_requested' : 'payment.cancel_requested'
  return {
    payment,
    operation: op,
    entries: [],
    events: [
      makeEvent(
        clock,
        type,
        payment.merchantId,
        {
          payment,
          operation: op,
          ...(op.kind === 'cancel' ? { cancellation_reason: op.reason } : { amount: op.amount }),
        },
        op.id,
      ),
    ],
  }
}

/** A new refund the system decided (compensation of a duplicate payment). */
export function refundRequested(clock: HybridClock, s: PaymentState, refund: Refund): Change {
  const payment = next(clock, s, {}, { refund })
  return {
    payment,
    refund,
    entries: [],
    events: [
      makeEvent(clock, 'refund.created', payment.merchantId, { payment, refund }, refund.id),
    ],
  }
}

export function refundSucceeded(
  clock: HybridClock,
  s: PaymentState,
  r: Refund,
  processorRef: string,
): Change {
  const p = s.payment
  const refund: Refund = { ...r, status: 'succeeded', processorRef }
  const payment = next(clock, s, {}, { refund })
  invariant(
    payment.amountRefunded <= payment.amountCaptured,
    `refunds of ${p.id} would exceed the captured amount`,
  )
  const entries = [refundEntry(r, p, processorOf(p))]
  return {
    payment,
    refund,
    entries,
    events: [
      makeEvent(clock, 'refund.succeeded', p.merchantId, { payment, refund, entries }, r.id),
      makeEvent(clock, 'payment.refunded', p.merchantId, { payment }, r.id),
    ],
  }
}

export function refundFailed(
  clock: HybridClock,
  s: PaymentState,
  r: Refund,
  message: string,
): Change {
  const refund: Refund = { ...r, status: 'failed', failureMessage: message }
  const payment = next(clock, s, {}, { refund })
  return {
    payment,
    refund,
    entries: [],
    events: [makeEvent(clock, 'refund.failed', payment.merchantId, { payment, refund }, r.id)],
  }
}
