import {
  type HybridClock,
  nextStep,
  type Operation,
  type Payment,
  type PaymentState,
  processorKeys,
  type Refund,
  type Step,
  samplePlacement,
  systemOperationId,
} from '@meridian/core'
import { backoffMs, type Rng, retryDefaults } from '@meridian/platform'
import {
  type Change,
  type CircuitBreaker,
  changes,
  type OperationResult,
  type ProcessorAdapter,
  ProcessorError,
  type ProcessorPins,
} from '@meridian/regions/replication'
import type { Host } from './scheduler.ts'
import type { RegionStore } from './store.ts'
import type { Telemetry } from './telemetry.ts'
import { atTime } from './time.ts'

export interface RoutedProcessor {
  readonly adapter: ProcessorAdapter
  readonly breaker: CircuitBreaker
}

export interface FlowDeps {
  readonly region: string
  readonly store: RegionStore
  readonly clock: HybridClock
  readonly wallMs: () => number
  /** The process this flow runs in: its sleeps and processor calls die with it. */
  readonly host: Host
  readonly processors: ReadonlyMap<string, RoutedProcessor>
  /** ProcessorSet.routeFor's order (processor names) for a payment. */
  readonly routeFor: (paymentId: string) => readonly string[]
  /** Where regions agree on a payment's processor (adapters/pins.ts). */
  readonly pins: ProcessorPins
  readonly rng: Rng
  readonly t: Telemetry
  /** worker or reconciler: which process, in traces. */
  readonly name: string
}

/** Steps one payment may take in a single `advance` (flow.ts: stepsPerAdvanceMax). */
const stepsPerAdvanceMax = 8
/** A database round trip: the moments in which another process can get in between. */
const dbMsMax = 3

/**
 * regions/src/workflow/flow.ts, step for step, over the model's store and processors: core's
 * nextStep picks the step, regions' changes.ts makes each transition; the authorization is
 * pinned (claimAttempt) before it is sent and moves to the next processor only when every
 * attempt certainly did not act and nobody else sent since; calls go through the real circuit
 * breaker and the bounded retry with the real backoff.
 */
export class ModelFlow {
  constructor(private readonly d: FlowDeps) {}

  private db(): Promise<void> {
    return this.d.host.sleep(this.d.rng.int(dbMsMax + 1))
  }

  async advance(paymentId: string): Promise<void> {
    for (let i = 0; i < stepsPerAdvanceMax; i++) {
      await this.db()
      const state = this.d.store.state(paymentId)
      if (!state) return
      const step = nextStep(state.payment, state.operations, state.refunds)
      if (step.kind !== 'none')
        this.d.t.trace(() => `${this.d.host.name} ${this.d.name}: ${step.kind} ${paymentId}`)
      if (!(await this.take(state, step))) return
    }
  }

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
            ? changes.operationFailed(this.d.clock, c, step.operation, step.code, step.message)
            : undefined,
        )
      case 'send_refund':
        return this.refund(s.payment, step.refund)
      case 'fail_refund':
        return this.change(s.payment.id, (c) => {
          const pending = pendingRefund(c, step.refund.id)
          return pending ? changes.refundFailed(this.d.clock, c, pending, step.message) : undefined
        })
      case 'none':
        return Promise.resolve(false)
    }
  }

  /** flow.ts `call`: breaker, bounded retries; "may have acted" survives a later refusal. */
  private async call<T>(routed: RoutedProcessor, work: () => Promise<T>): Promise<T> {
    let reached = false
    try {
      for (let attempt = 0; ; attempt++) {
        try {
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
        } catch (error) {
          this.d.t.trace(
            () => `${this.d.host.name} ${this.d.name}: ${routed.adapter.name} ${String(error)}`,
          )
          const retriable = (error as { retriable?: unknown }).retriable === true
          if (!retriable || attempt + 1 >= retryDefaults.attemptsMax) throw error
          this.d.t.count('processorRetries')
          const hinted = (error as { retryAfterMs?: number }).retryAfterMs
          await this.d.host.sleep(
            Math.max(
              hinted ?? 0,
              backoffMs(attempt, retryDefaults, () => this.d.rng.next()),
            ),
          )
        }
      }
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

  /** applyChange: decide on the current state and write it, in one transaction. */
  private async change(
    paymentId: string,
    decide: (state: PaymentState) => Change | undefined,
  ): Promise<boolean> {
    await this.db()
    const state = this.d.store.state(paymentId)
    if (!state) return false
    const change = atTime(this.d.wallMs(), () => decide(state))
    if (!change) return false
    this.d.store.applyChange(change)
    return true
  }

  private async settleAuthorization(p: Payment, result: OperationResult): Promise<boolean> {
    const stillPending = (c: PaymentState) => c.payment.status === 'pending'
    if (result.status === 'approved') {
      const autoCaptureId = await systemOperationId(p.id, 'auto-capture')
      return this.change(p.id, (c) =>
        stillPending(c)
          ? changes.authorized(this.d.clock, c, result.processorRef, autoCaptureId)
          : undefined,
      )
    }
    if (result.status === 'declined')
      return this.change(p.id, (c) =>
        stillPending(c)
          ? changes.declined(this.d.clock, c, result.code, result.message)
          : undefined,
      )
    return false
  }

  private authorizeRequest(p: Payment) {
    return {
      reference: p.id,
      amount: p.amount,
      currency: p.currency,
      cardToken: p.paymentMethod.token,
      idempotencyKey: processorKeys.authorize(p.id),
    }
  }

  /** flow.ts authorize: the home sends to the route's first processor; anything else agrees first. */
  private async authorize(p: Payment): Promise<boolean> {
    if (p.processor !== null) return this.authorizePinned(p)
    const route = this.d.routeFor(p.id)
    const firstName = route[0]
    const first = firstName ? this.d.processors.get(firstName) : undefined
    if (!firstName || !first) return false
    let pinned: string | null = null
    let attempt: number | undefined
    const home = samplePlacement(p.merchantId).processingHome === this.d.region
    if (home && first.breaker.state !== 'open') {
      await this.db()
      attempt = this.d.store.claimAttempt(p.id, firstName, null)
      if (attempt === undefined) return true
      pinned = firstName
      try {
        const result = await this.call(first, () =>
          first.adapter.authorize(this.authorizeRequest(p)),
        )
        return this.settleAuthorization({ ...p, processor: pinned }, result)
      } catch (error) {
        if (!(error instanceof ProcessorError)) throw error
        if (error.maybeApplied) return false
      }
    }
    const choice = home
      ? (route.find((n) => n !== pinned && this.d.processors.get(n)?.breaker.state !== 'open') ??
        firstName)
      : firstName
    await this.db()
    const agreed = await this.d.pins.agree(p.id, choice)
    if (agreed !== firstName || pinned !== null) this.d.t.count('processorFailovers')
    const routed = this.d.processors.get(agreed)
    if (!routed) return false
    await this.db()
    if (this.d.store.claimAttempt(p.id, agreed, pinned, attempt) === undefined) return true
    try {
      const result = await this.call(routed, () =>
        routed.adapter.authorize(this.authorizeRequest(p)),
      )
      return this.settleAuthorization({ ...p, processor: agreed }, result)
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  /** Pinned: an attempt may have reached this processor, so ask it before (re)sending there. */
  private async authorizePinned(p: Payment): Promise<boolean> {
    const routed = p.processor ? this.d.processors.get(p.processor) : undefined
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
      await this.db()
      if (this.d.store.claimAttempt(p.id, routed.adapter.name) === undefined) return true
      const result = await this.call(routed, () =>
        routed.adapter.authorize(this.authorizeRequest(p)),
      )
      return this.settleAuthorization(p, result)
    } catch (error) {
      if (error instanceof ProcessorError) return false
      throw error
    }
  }

  private processorOf(p: Payment): RoutedProcessor | undefined {
    return p.processor ? this.d.processors.get(p.processor) : undefined
  }

  private capture(p: Payment, op: Operation): Promise<boolean> {
    const routed = this.processorOf(p)
    const ref = p.processorRef
    if (!routed || !ref) return Promise.resolve(false)
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

  private cancel(p: Payment, op: Operation): Promise<boolean> {
    const routed = this.processorOf(p)
    const ref = p.processorRef
    if (!routed || !ref) return Promise.resolve(false)
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
    return this.change(p.id, (c) => {
      if (!pendingOperation(c, op.id) || c.payment.status !== 'authorized') return undefined
      if (result.status === 'declined')
        return changes.operationFailed(this.d.clock, c, op, result.code, result.message)
      return op.kind === 'capture'
        ? changes.captured(this.d.clock, c, op)
        : changes.released(this.d.clock, c, op)
    })
  }

  private async refund(p: Payment, r: Refund): Promise<boolean> {
    const routed = this.processorOf(p)
    const ref = p.processorRef
    if (!routed || !ref) return false
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
    return this.change(p.id, (c) => {
      if (!pendingRefund(c, r.id)) return undefined
      return result.status === 'approved'
        ? changes.refundSucceeded(this.d.clock, c, r, result.processorRef)
        : changes.refundFailed(this.d.clock, c, r, result.message)
    })
  }

  failUnsent(p: Payment, message: string): Promise<boolean> {
    return this.change(p.id, (c) =>
      c.payment.status === 'pending' && c.payment.processor === null
        ? changes.failed(this.d.clock, c, message)
        : undefined,
    )
  }

  async requestCancel(p: Payment, reason: 'expired' | 'duplicate'): Promise<boolean> {
    const id = await systemOperationId(p.id, reason === 'expired' ? 'expire' : 'compensate')
    const requested = await this.change(p.id, (c) => {
      if (c.payment.status !== 'authorized' || c.payment.pendingOperation !== null) return undefined
      if (c.operations.some((o) => o.id === id)) return undefined
      return changes.operationRequested(this.d.clock, c, {
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
        originRegion: this.d.region,
        createdAtMs: Date.now(),
      })
    })
    if (requested) await this.advance(p.id)
    return requested
  }

  async requestRefund(p: Payment, refund: Refund): Promise<boolean> {
    const requested = await this.change(p.id, (c) =>
      c.refunds.some((r) => r.id === refund.id)
        ? undefined
        : changes.refundRequested(this.d.clock, c, refund),
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
