import {
  canTransition,
  captureEntry,
  type EventEnvelope,
  formatHlc,
  type HybridClock,
  holdEntry,
  invariant,
  type JournalEntry,
  type Payment,
  type PaymentStatus,
  type Refund,
  refundEntry,
  releaseEntry,
} from '@meridian/core'
import { makeEvent } from '../payments/events.ts'

/**
 * What one processor outcome does to a payment: its next state, the ledger entries and the
 * events, written together in one transaction by applyChange. Every status change here is
 * checked against the transition table.
 */
export interface Change {
  readonly payment: Payment
  readonly entries: readonly JournalEntry[]
  readonly events: readonly EventEnvelope[]
  readonly refund?: Refund
}

function next(clock: HybridClock, p: Payment, changes: Partial<Payment>): Payment {
  const status: PaymentStatus = changes.status ?? p.status
  invariant(
    status === p.status || canTransition(p.status, status),
    `illegal transition ${p.status} → ${status} for ${p.id}`,
  )
  return { ...p, ...changes, hlc: formatHlc(clock.now()), version: p.version + 1 }
}

function processorOf(p: Payment): string {
  invariant(p.processor !== null, `payment ${p.id} has no processor`)
  return p.processor
}

export function authorized(clock: HybridClock, p: Payment, processorRef: string): Change {
  const automatic = p.captureMethod === 'automatic'
  const hold = holdEntry(p, processorOf(p))
  const payment = next(clock, p, {
    status: 'authorized',
    processorRef,
    authorizedAtMs: Date.now(),
    // Automatic capture: the capture is requested in the same breath as the authorization.
    ...(automatic
      ? { pendingOperation: 'capture' as const, amountCaptureRequested: p.amount }
      : {}),
  })
  return {
    payment,
    entries: [hold],
    events: [makeEvent(clock, 'payment.authorized', p.merchantId, { payment, entries: [hold] })],
  }
}

export function declined(clock: HybridClock, p: Payment, code: string, message: string): Change {
  const payment = next(clock, p, { status: 'declined', declineCode: code, failureMessage: message })
  return {
    payment,
    entries: [],
    events: [makeEvent(clock, 'payment.declined', p.merchantId, { payment })],
  }
}

export function failed(clock: HybridClock, p: Payment, message: string): Change {
  const payment = next(clock, p, { status: 'failed', failureMessage: message })
  return {
    payment,
    entries: [],
    events: [makeEvent(clock, 'payment.failed', p.merchantId, { payment })],
  }
}

export function captured(clock: HybridClock, p: Payment): Change {
  const amount = p.amountCaptureRequested
  const payment = next(clock, p, {
    status: 'captured',
    amountCaptured: amount,
    pendingOperation: null,
    amountCaptureRequested: 0,
  })
  const entries = [captureEntry(p, processorOf(p), amount)]
  return {
    payment,
    entries,
    events: [makeEvent(clock, 'payment.captured', p.merchantId, { payment, entries })],
  }
}

export function operationFailed(
  clock: HybridClock,
  p: Payment,
  code: string,
  message: string,
): Change {
  const operation = p.pendingOperation
  const payment = next(clock, p, {
    pendingOperation: null,
    amountCaptureRequested: 0,
    failureMessage: message,
  })
  return {
    payment,
    entries: [],
    events: [
      makeEvent(clock, 'payment.operation_failed', p.merchantId, { payment, operation, code }),
    ],
  }
}

export function released(clock: HybridClock, p: Payment, status: 'canceled' | 'expired'): Change {
  const payment = next(clock, p, { status, pendingOperation: null, amountCaptureRequested: 0 })
  const entries = [releaseEntry(p, processorOf(p))]
  const type = status === 'canceled' ? 'payment.canceled' : 'payment.expired'
  return { payment, entries, events: [makeEvent(clock, type, p.merchantId, { payment, entries })] }
}

export function refundSucceeded(
  clock: HybridClock,
  p: Payment,
  r: Refund,
  processorRef: string,
): Change {
  const refunded = p.amountRefunded + r.amount
  invariant(refunded <= p.amountCaptured, `refunds of ${p.id} would exceed the captured amount`)
  const payment = next(clock, p, {
    status: refunded === p.amountCaptured ? 'refunded' : 'partially_refunded',
    amountRefunded: refunded,
    amountRefundPending: p.amountRefundPending - r.amount,
  })
  const refund: Refund = { ...r, status: 'succeeded', processorRef }
  const entries = [refundEntry(r, p, processorOf(p))]
  return {
    payment,
    refund,
    entries,
    events: [
      makeEvent(clock, 'refund.succeeded', p.merchantId, { payment, refund, entries }),
      makeEvent(clock, 'payment.refunded', p.merchantId, { payment }),
    ],
  }
}

export function refundFailed(clock: HybridClock, p: Payment, r: Refund, message: string): Change {
  const payment = next(clock, p, { amountRefundPending: p.amountRefundPending - r.amount })
  const refund: Refund = { ...r, status: 'failed', failureMessage: message }
  return {
    payment,
    refund,
    entries: [],
    events: [makeEvent(clock, 'refund.failed', p.merchantId, { payment, refund })],
  }
}
