import type { HybridClock, Payment, Refund } from '@meridian/core'
import type pg from 'pg'
import type { Logger } from '../log.ts'
import { type OperationResult, ProcessorError } from '../processors/adapter.ts'
import type { ProcessorSet, RoutedProcessor } from '../processors/registry.ts'
import { type RetryOptions, retryDefaults, withRetry } from '../processors/retry.ts'
import { getPaymentById, getRefunds } from '../store/payments.ts'
import { applyChange, claimAttempt, pinProcessor } from './apply.ts'
import * as changes from './changes.ts'

export interface FlowDeps {
  readonly region: string
  readonly pool: pg.Pool
  readonly clock: HybridClock
  readonly processors: ProcessorSet
  readonly log: Logger
  readonly retry?: RetryOptions
  /** Called after a change (and its outbox events) committed: wakes the outbox relay. */
  readonly outboxWritten?: () => void
}

/** Steps one payment may take in a single `advance` (authorize, then capture, then refunds). */
const stepsPerAdvanceMax = 6

/**
 * Moves a payment toward its final state from whatever state it is in now. It never trusts the
 * event that woke it: a duplicate message, a reordering or a second worker find the work done and
 * do nothing. Processor idempotency keys are derived from the payment (or refund) and operation,
 * so a retry can never charge twice.
 */
export class PaymentFlow {
  constructor(private readonly deps: FlowDeps) {}

  async advance(paymentId: string): Promise<void> {
    for (let i = 0; i < stepsPerAdvanceMax; i++) {
      const payment = await getPaymentById(this.deps.pool, paymentId)
      if (!payment) return
      const refunds = await getRefunds(this.deps.pool, paymentId)
      if (!(await this.step(payment, refunds))) return
    }
  }

  /** One step; true when the state moved and another step may follow. */
  private step(p: Payment, refunds: readonly Refund[]): Promise<boolean> {
    if (p.status === 'pending') return this.authorize(p)
    if (p.status === 'authorized' && p.pendingOperation === 'capture') return this.capture(p)
    if (p.status === 'authorized' && p.pendingOperation === 'cancel')
      return this.release(p, 'canceled')
    const refund = refunds.find((r) => r.status === 'pending')
    if (refund && (p.status === 'captured' || p.status === 'partially_refunded'))
      return this.refund(p, refund)
    return Promise.resolve(false)
  }

  /**
   * Call through the breaker with bounded retries; a transport failure counts against it. If any
   * attempt may have reached the processor, the final error says so too, even when a later
   * attempt was stopped before sending (breaker open): routing elsewhere then would double charge.
   */
  private async call<T>(routed: RoutedProcessor, work: () => Promise<T>): Promise<T> {
    let reached = false
    try {
      return await withRetry(async () => {
        if (!routed.breaker.allow())
          throw new ProcessorError(`${routed.adapter.name} circuit open`, false, false)
        try {
          const result = await work()
          routed.breaker.success()
          return result
        } catch (error) {
          if (error instanceof ProcessorError) {
            routed.breaker.failure()
            reached ||= error.maybeApplied
          }
          throw error
        }
      }, this.deps.retry ?? retryDefaults)
    } catch (error) {
      if (reached && error instanceof ProcessorError && !error.maybeApplied) {
        throw new ProcessorError(
          `${error.message}, after an attempt that may have been applied`,
          error.retriable,
          true,
        )
      }
      throw error
    }
  }

  private async apply(
    p: Payment,
    expect: (current: Payment) => boolean,
    build: (current: Payment) => changes.Change,
  ): Promise<boolean> {
    return this.change(p.id, (current) => (expect(current) ? build(current) : undefined))
  }

  /** applyChange, then the relay is told when events were written. */
  private async change(
    paymentId: string,
    decide: Parameters<typeof applyChange>[3],
  ): Promise<boolean> {
    const change = await applyChange(this.deps.pool, this.deps.region, paymentId, decide)
    if (change) this.deps.outboxWritten?.()
    return change !== undefined
  }

  private async settleAuthorization(p: Payment, result: OperationResult): Promise<boolean> {
    const stillPending = (c: Payment) => c.status === 'pending'
    if (result.status === 'approved')
      return this.apply(p, stillPending, (c) =>
        changes.authorized(this.deps.clock, c, result.processorRef),
      )
    if (result.status === 'declined')
      return this.apply(p, stillPending, (c) =>
        changes.declined(this.deps.clock, c, result.code, result.message),
      )
    this.deps.log.warn('authorization outcome unknown; the reconciler will ask the processor', {
      paymentId: p.id,
      reason: result.reason,
    })
    return false
  }

  private async authorize(p: Payment): Promise<boolean> {
    if (p.processor !== null) return this.authorizePinned(p)
    let pinned: string | null = null
    let attempt: number | undefined
    for (const routed of this.deps.processors.routeFor(p.id)) {
      if (routed.breaker.state === 'open') continue
      attempt = await claimAttempt(this.deps.pool, p.id, routed.adapter.name, pinned, attempt)
      if (attempt === undefined) return true
      pinned = routed.adapter.name
      const pinnedPayment = { ...p, processor: pinned }
      try {
        const result = await this.call(routed, () =>
          routed.adapter.authorize({
            reference: p.id,
            amount: p.amount,
            currency: p.currency,
            cardToken: p.paymentMethod.token,
            idempotencyKey: `${p.id}:authorize`,
          }),
        )
        return this.settleAuthorization(pinnedPayment, result)
      } catch (error) {
        if (!(error instanceof ProcessorError)) throw error
        // It may have been charged: stay with this processor; the reconciler asks it later.
        if (error.maybeApplied) return false
        this.deps.log.warn('processor did not take the authorization; routing to the next', {
          paymentId: p.id,
          processor: pinned,
          error: error.message,
        })
      }
    }
    // Every processor refused before acting: unpin, so the next attempt may route anywhere.
    if (pinned !== null) await pinProcessor(this.deps.pool, p.id, null, pinned, attempt)
    return false
  }

  /** Pinned: an attempt may have reached this processor, so ask it before (re)sending there. */
  private async authorizePinned(p: Payment): Promise<boolean> {
    const routed = p.processor ? this.deps.processors.get(p.processor) : undefined
    if (!routed) return false
    try {
      const known = await this.call(routed, () => routed.adapter.lookup(p.id, 'payment'))
      if (known.status === 'authorized' || known.status === 'captured') {
        return this.settleAuthorization(p, { status: 'approved', processorRef: known.processorRef })
      }
      if (known.status === 'declined')
        return this.settleAuthorization(p, {
          status: 'declined',
          code: known.code,
          message: 'declined',
        })
      if (known.status !== 'not_found') return false
      // Another actor may be moving the payment to another processor: send only under the pin.
      if ((await claimAttempt(this.deps.pool, p.id, routed.adapter.name)) === undefined) return true
      const result = await this.call(routed, () =>
        routed.adapter.authorize({
          reference: p.id,
          amount: p.amount,
          currency: p.currency,
          cardToken: p.paymentMethod.token,
          idempotencyKey: `${p.id}:authorize`,
        }),
      )
      return this.settleAuthorization(p, result)
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  private processorOf(p: Payment): RoutedProcessor | undefined {
    return p.processor ? this.deps.processors.get(p.processor) : undefined
  }

  private async capture(p: Payment): Promise<boolean> {
    const routed = this.processorOf(p)
    if (!routed || !p.processorRef) return false
    const ref = p.processorRef
    const stillCapturing = (c: Payment) =>
      c.status === 'authorized' && c.pendingOperation === 'capture'
    try {
      const result = await this.call(routed, () =>
        routed.adapter.capture({
          reference: p.id,
          processorRef: ref,
          amount: p.amountCaptureRequested,
          idempotencyKey: `${p.id}:capture`,
        }),
      )
      if (result.status === 'approved')
        return this.apply(p, stillCapturing, (c) => changes.captured(this.deps.clock, c))
      if (result.status === 'declined')
        return this.apply(p, stillCapturing, (c) =>
          changes.operationFailed(this.deps.clock, c, result.code, result.message),
        )
      return false
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  private async release(p: Payment, status: 'canceled' | 'expired'): Promise<boolean> {
    const routed = this.processorOf(p)
    if (!routed || !p.processorRef) return false
    const ref = p.processorRef
    const stillAuthorized = (c: Payment) =>
      c.status === 'authorized' &&
      (status === 'expired' ? c.pendingOperation === null : c.pendingOperation === 'cancel')
    try {
      const result = await this.call(routed, () =>
        routed.adapter.void({ reference: p.id, processorRef: ref, idempotencyKey: `${p.id}:void` }),
      )
      if (result.status === 'approved')
        return this.apply(p, stillAuthorized, (c) => changes.released(this.deps.clock, c, status))
      if (result.status === 'declined' && status === 'canceled') {
        return this.apply(p, stillAuthorized, (c) =>
          changes.operationFailed(this.deps.clock, c, result.code, result.message),
        )
      }
      return false
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  /** Expire an authorization nobody captured in time: void it at the processor, release the hold. */
  expire(p: Payment): Promise<boolean> {
    return this.release(p, 'expired')
  }

  private async refund(p: Payment, r: Refund): Promise<boolean> {
    const routed = this.processorOf(p)
    if (!routed || !p.processorRef) return false
    const ref = p.processorRef
    try {
      const result = await this.call(routed, () =>
        routed.adapter.refund({
          reference: r.id,
          processorRef: ref,
          amount: r.amount,
          idempotencyKey: `${r.id}:refund`,
        }),
      )
      if (result.status === 'unknown') return false
      return this.change(p.id, (current, refunds) => {
        const pending = refunds.find((x) => x.id === r.id && x.status === 'pending')
        if (!pending) return undefined
        return result.status === 'approved'
          ? changes.refundSucceeded(this.deps.clock, current, pending, result.processorRef)
          : changes.refundFailed(this.deps.clock, current, pending, result.message)
      })
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  /** No processor ever took it (all were down) and it is too old: fail it; nothing was charged. */
  async failUnsent(p: Payment, message: string): Promise<boolean> {
    return this.apply(
      p,
      (c) => c.status === 'pending' && c.processor === null,
      (c) => changes.failed(this.deps.clock, c, message),
    )
  }
}
