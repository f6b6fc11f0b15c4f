import type { PaymentState } from '@meridian/core'
import {
  type HybridClock,
  nextStep,
  type Operation,
  type Payment,
  processorKeys,
  type Refund,
  type Step,
  systemOperationId,
} from '@meridian/core'
import { type Logger, type RetryOptions, retryDefaults, withRetry } from '@meridian/platform'
import type pg from 'pg'
import { PinsUnavailableError, type ProcessorPins } from '../adapters/pins.ts'
import { type OperationResult, ProcessorError } from '../processors/adapter.ts'
import type { ProcessorSet, RoutedProcessor } from '../processors/routing.ts'
import { processingHomeOf } from '../store/placements.ts'
import { getPaymentState } from '../store/state.ts'
import { applyChange, claimAttempt, pinProcessor } from './apply-change.ts'
import * as changes from './changes.ts'

export interface FlowDeps {
  readonly region: string
  readonly pool: pg.Pool
  readonly clock: HybridClock
  readonly processors: ProcessorSet
  /** Where the fleet agrees which processor authorizes a payment (see authorize). */
  readonly pins: ProcessorPins
  readonly log: Logger
  readonly retry?: RetryOptions
  /** Called after a change (and its outbox events) committed: wakes the outbox relay. */
  readonly outboxWritten?: () => void
}

/** Processing homes one flow remembers before it forgets them all (and reads them again). */
const processingHomesMax = 100_000

/** Steps one payment may take in a single `advance` (authorize, capture, then refunds). */
const stepsPerAdvanceMax = 8

/**
 * Moves a payment toward its final state from whatever state it is in now (core's nextStep). It
 * never trusts the event that woke it: a duplicate message, a reordering, a second worker or a
 * second region holding the same payment find the work done, or send the same call again under
 * the same processor idempotency key (derived from the payment, operation or refund), which
 * the processor answers without acting twice.
 */
export class PaymentFlow {
  /**
   * Merchants' processing homes as this region's placements name them. Write-once (core
   * joinPlacements keeps the first), so a value once read never changes: caching it is safe.
   * A merchant without a row is not cached: its placement may arrive at any moment.
   */
  private readonly processingHomes = new Map<string, string>()

  constructor(private readonly deps: FlowDeps) {}

  async advance(paymentId: string): Promise<void> {
    for (let i = 0; i < stepsPerAdvanceMax; i++) {
      const state = await getPaymentState(this.deps.pool, paymentId)
      if (!state) return
      if (!(await this.take(state, nextStep(state.payment, state.operations, state.refunds))))
        return
    }
  }

  /** One step; true when the state moved and another step may follow. */
  private take(s: PaymentState, step: Step): Promise<boolean> {
    switch (step.kind) {
      case 'authorize':
        return this.authorize(s.payment)
      case 'send_operation':
        return step.operation.kind === 'capture'
          ? this.capture(s.payment, step.operation)
          : this.cancel(s.payment, step.operation)
      case 'fail_operation':
        return this.change(s.payment.id, (c) =>
          pendingOperation(c, step.operation.id)
            ? changes.operationFailed(this.deps.clock, c, step.operation, step.code, step.message)
            : undefined,
        )
      case 'send_refund':
        return this.refund(s.payment, step.refund)
      case 'fail_refund':
        return this.change(s.payment.id, (c) => {
          const pending = pendingRefund(c, step.refund.id)
          return pending
            ? changes.refundFailed(this.deps.clock, c, pending, step.message)
            : undefined
        })
      case 'none':
        return Promise.resolve(false)
    }
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

  /** applyChange, then the relay is told when events were written. */
  private async change(
    paymentId: string,
    decide: (state: PaymentState) => changes.Change | undefined,
  ): Promise<boolean> {
    const change = await applyChange(this.deps.pool, this.deps.region, paymentId, decide)
    if (change) this.deps.outboxWritten?.()
    return change !== undefined
  }

  private async settleAuthorization(p: Payment, result: OperationResult): Promise<boolean> {
    const stillPending = (c: PaymentState) => c.payment.status === 'pending'
    if (result.status === 'approved') {
      const autoCaptureId = await systemOperationId(p.id, 'auto-capture')
      return this.change(p.id, (c) =>
        stillPending(c)
          ? changes.authorized(this.deps.clock, c, result.processorRef, autoCaptureId)
          : undefined,
      )
    }
    if (result.status === 'declined')
      return this.change(p.id, (c) =>
        stillPending(c)
          ? changes.declined(this.deps.clock, c, result.code, result.message)
          : undefined,
      )
    this.deps.log.warn('authorization outcome unknown; the reconciler will ask the processor', {
      paymentId: p.id,
      reason: result.reason,
    })
    return false
  }

  /**
   * Authorize a payment no processor holds yet. The merchant's home region sends to the route's
   * first processor (the same in every region: routing hashes the payment id) without asking
   * anyone. Anything else — a region that is not the home (its copy may also exist in the home),
   * or the home moving on after that processor certainly refused — first agrees on a processor
   * with the fleet (ProcessorPins, write-once) and then only ever sends there. So every region
   * sends a payment's authorization to one processor, under one key: one authorization.
   */
  private async authorize(p: Payment): Promise<boolean> {
    if (p.processor !== null) return this.authorizePinned(p)
    const route = this.deps.processors.routeFor(p.id)
    const [first] = route
    if (!first) return false
    let pinned: string | null = null
    let attempt: number | undefined
    const home = await this.isHome(p)
    if (home && first.breaker.state !== 'open') {
      attempt = await claimAttempt(this.deps.pool, p.id, first.adapter.name, null)
      if (attempt === undefined) return true
      pinned = first.adapter.name
      try {
        const result = await this.call(first, () => first.adapter.authorize(this.authorization(p)))
        return this.settleAuthorization({ ...p, processor: pinned }, result)
      } catch (error) {
        if (!(error instanceof ProcessorError)) throw error
        // It may have been charged: stay with this processor; the reconciler asks it later.
        if (error.maybeApplied) return false
        this.deps.log.warn('processor did not take the authorization; agreeing on the next', {
          paymentId: p.id,
          processor: pinned,
          error: error.message,
        })
      }
    }
    // Only the home proposes another processor than the route's first (it alone sent there
    // without asking, and knows those sends certainly did not act); any other region proposes
    // the first, whatever its own breakers say, and waits for it if it is down.
    const choice = home
      ? (route.find((r) => r.adapter.name !== pinned && r.breaker.state !== 'open') ?? first)
      : first
    let agreed: string
    try {
      agreed = await this.deps.pins.agree(p.id, choice.adapter.name)
    } catch (error) {
      if (!(error instanceof PinsUnavailableError)) throw error
      this.deps.log.warn('cannot agree on a processor now; the payment waits', {
        paymentId: p.id,
        error: error.message,
      })
      if (pinned !== null) await pinProcessor(this.deps.pool, p.id, null, pinned, attempt)
      return false
    }
    const routed = this.deps.processors.get(agreed)
    if (!routed) return false
    // From here on this payment goes to `agreed` only, from this region as from every other.
    // Another region may have sent there already: the same key, so the processor acts once.
    if ((await claimAttempt(this.deps.pool, p.id, agreed, pinned, attempt)) === undefined)
      return true
    try {
      const result = await this.call(routed, () => routed.adapter.authorize(this.authorization(p)))
      return this.settleAuthorization({ ...p, processor: agreed }, result)
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  /**
   * Whether this region is the merchant's processing home (its placement says so). A region that
   * holds no placement for the merchant is not: it agrees on the processor first, which is always
   * safe, only slower.
   */
  private async isHome(p: Payment): Promise<boolean> {
    let home = this.processingHomes.get(p.merchantId)
    if (home === undefined) {
      home = await processingHomeOf(this.deps.pool, p.merchantId)
      if (this.processingHomes.size >= processingHomesMax) this.processingHomes.clear()
      if (home !== undefined) this.processingHomes.set(p.merchantId, home)
    }
    return home === this.deps.region
  }

  private authorization(p: Payment) {
    return {
      reference: p.id,
      amount: p.amount,
      currency: p.currency,
      cardToken: p.paymentMethod.token,
      idempotencyKey: processorKeys.authorize(p.id),
    }
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
      const result = await this.call(routed, () => routed.adapter.authorize(this.authorization(p)))
      return this.settleAuthorization(p, result)
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  private processorOf(p: Payment): RoutedProcessor | undefined {
    return p.processor ? this.deps.processors.get(p.processor) : undefined
  }

  /** Send a capture to the processor holding the authorization, under the operation's key. */
  private async capture(p: Payment, op: Operation): Promise<boolean> {
    const routed = this.processorOf(p)
    if (!routed || !p.processorRef) return false
    const ref = p.processorRef
    return this.settleOperation(p, op, () =>
      this.call(routed, () =>
        routed.adapter.capture({
          reference: p.id,
          processorRef: ref,
          amount: op.amount,
          idempotencyKey: processorKeys.operation(op),
        }),
      ),
    )
  }

  /** Void the authorization: the merchant's cancel, an expiry or a compensation. */
  private async cancel(p: Payment, op: Operation): Promise<boolean> {
    const routed = this.processorOf(p)
    if (!routed || !p.processorRef) return false
    const ref = p.processorRef
    return this.settleOperation(p, op, () =>
      this.call(routed, () =>
        routed.adapter.void({
          reference: p.id,
          processorRef: ref,
          idempotencyKey: processorKeys.operation(op),
        }),
      ),
    )
  }

  /**
   * Apply what the processor said about an operation. Approved moves the payment (captured,
   * canceled or expired); declined fails the operation with the processor's reason; unknown or a
   * transport failure leaves it pending for the next attempt or the reconciler, under the same key.
   */
  private async settleOperation(
    p: Payment,
    op: Operation,
    send: () => Promise<OperationResult>,
  ): Promise<boolean> {
    let result: OperationResult
    try {
      result = await send()
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
    if (result.status === 'unknown') return false
    // The processor answered for the version of the operation this region sent (another
    // region's version under the same id may have merged in meantime): record that one.
    return this.change(p.id, (c) => {
      if (!pendingOperation(c, op.id) || c.payment.status !== 'authorized') return undefined
      if (result.status === 'declined')
        return changes.operationFailed(this.deps.clock, c, op, result.code, result.message)
      return op.kind === 'capture'
        ? changes.captured(this.deps.clock, c, op)
        : changes.released(this.deps.clock, c, op)
    })
  }

  private async refund(p: Payment, r: Refund): Promise<boolean> {
    const routed = this.processorOf(p)
    if (!routed || !p.processorRef) return false
    const ref = p.processorRef
    let result: OperationResult
    try {
      result = await this.call(routed, () =>
        routed.adapter.refund({
          reference: r.id,
          processorRef: ref,
          amount: r.amount,
          idempotencyKey: processorKeys.refund(r),
        }),
      )
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
    if (result.status === 'unknown') return false
    // As for operations: the version sent is the one the processor answered for.
    return this.change(p.id, (c) => {
      if (!pendingRefund(c, r.id)) return undefined
      return result.status === 'approved'
        ? changes.refundSucceeded(this.deps.clock, c, r, result.processorRef)
        : changes.refundFailed(this.deps.clock, c, r, result.message)
    })
  }

  /** No processor ever took it (all were down) and it is too old: fail it; nothing was charged. */
  async failUnsent(p: Payment, message: string): Promise<boolean> {
    return this.change(p.id, (c) =>
      c.payment.status === 'pending' && c.payment.processor === null
        ? changes.failed(this.deps.clock, c, message)
        : undefined,
    )
  }

  /**
   * Ask for a cancel the system decided (an authorization nobody captured in time, a duplicate
   * payment): an operation with an id derived from the payment and the decision, the same in
   * every region that decides it, then processed like a merchant's cancel. False when the payment
   * is not an authorization with nothing else in progress.
   */
  async requestCancel(p: Payment, reason: 'expired' | 'duplicate'): Promise<boolean> {
    const id = await systemOperationId(p.id, reason === 'expired' ? 'expire' : 'compensate')
    const requested = await this.change(p.id, (c) => {
      if (c.payment.status !== 'authorized' || c.payment.pendingOperation !== null) return undefined
      if (c.operations.some((o) => o.id === id)) return undefined
      return changes.operationRequested(this.deps.clock, c, {
        id,
        paymentId: p.id,
        merchantId: p.merchantId,
        kind: 'cancel',
        amount: 0,
        currency: p.currency,
        reason,
        status: 'pending',
        failureCode: null,
        failureMessage: null,
        originRegion: this.deps.region,
        createdAtMs: Date.now(),
      })
    })
    if (requested) await this.advance(p.id)
    return requested
  }

  /** Ask for a refund the system decided (compensating a duplicate payment), then process it. */
  async requestRefund(p: Payment, refund: Refund): Promise<boolean> {
    const requested = await this.change(p.id, (c) =>
      c.refunds.some((r) => r.id === refund.id)
        ? undefined
        : changes.refundRequested(this.deps.clock, c, refund),
    )
    if (requested) await this.advance(p.id)
    return requested
  }
}

function pendingOperation(s: PaymentState, id: string): Operation | undefined {
  return s.operations.find((o) => o.id === id && o.status === 'pending')
}

function pendingRefund(s: PaymentState, id: string): Refund | undefined {
  return s.refunds.find((r) => r.id === id && r.status === 'pending')
}
