import type { PaymentState } from '@meridian/core'
import {
  type CreatePaymentRequest,
  cancelPaymentSchema,
  capturePaymentSchema,
  createPaymentSchema,
  createRefundSchema,
  decideIdempotency,
  errors,
  evaluateFraud,
  type FraudPolicy,
  formatHlc,
  type HybridClock,
  type IdempotencyReplica,
  invariant,
  isId,
  listLimitMax,
  listPaymentsQuerySchema,
  newPayment,
  type Operation,
  operationIdFor,
  type Payment,
  type Plan,
  parseWith,
  paymentIdFor,
  planCancel,
  planCapture,
  planRefund,
  presentPayment,
  presentRefund,
  type Refund,
  requestFingerprint,
  settlePayment,
  writeRefusal,
} from '@meridian/core'
import type { GroupCommitter, Logger } from '@meridian/platform'
import type pg from 'pg'
import type { FastPathGate, RateLimit } from '../fastpath/gate.ts'
import type { Metrics } from '../metrics.ts'
import {
  type CreateOutcome,
  getPayment,
  listPayments,
  type MutationEffect,
  mutatePayment,
  type NewPaymentWrite,
  type RoutedPaymentWrite,
} from '../store/payments.ts'
import { makeEvent } from './events.ts'
import { type Caller, IdempotencyGuard } from './guard.ts'
import { type ApiResult, answerDecision, ok, rateLimited } from './outcomes.ts'

export interface PaymentPolicy {
  readonly rate: RateLimit
  readonly fraud: FraudPolicy
  /** Region-wide blocked card tokens (merchants keep their own lists in Redis). */
  readonly blockedCards: ReadonlySet<string>
}

export interface PaymentServiceDeps {
  readonly region: string
  /** The registry's jurisdiction of `region`: merchants resident elsewhere are refused here. */
  readonly jurisdiction: string
  readonly pool: pg.Pool
  readonly gate: FastPathGate
  readonly clock: HybridClock
  readonly committer: GroupCommitter<RoutedPaymentWrite, CreateOutcome>
  readonly policy: (merchantId: string) => PaymentPolicy
  readonly log: Logger
  readonly metrics: Metrics
  /** Wakes the outbox relay after a capture, cancel or refund committed its events. */
  readonly outboxWritten?: () => void
}

export type { Caller }

/** Attach the stored response to the mutation's events, so it replicates with them. */
function withIdempotency(
  plan: Plan<MutationEffect>,
  caller: Caller,
  fingerprint: string,
  region: string,
): Plan<MutationEffect> {
  if (!plan.ok) return plan
  const effect = plan.value
  const idempotency: IdempotencyReplica = {
    merchantId: caller.merchantId,
    key: caller.idempotencyKey,
    fingerprint,
    status: effect.response.status,
    body: effect.response.body,
    resourceId: effect.resourceId,
    originRegion: region,
    hlc: effect.payment.hlc,
  }
  const events = effect.events.map((e) => ({ ...e, payload: { ...e.payload, idempotency } }))
  return { ok: true, value: { ...effect, events } }
}

/** The use cases behind the public API. HTTP lives in api/; this speaks domain and outcomes. */
export class PaymentService {
  private readonly guard: IdempotencyGuard

  constructor(private readonly deps: PaymentServiceDeps) {
    this.guard = new IdempotencyGuard(deps)
  }

  async create(caller: Caller, body: Record<string, unknown>): Promise<ApiResult> {
    const parsed = parseWith(createPaymentSchema, body)
    if (!parsed.ok) throw parsed.error
    const request = parsed.value
    const policy = this.deps.policy(caller.merchantId)
    const fingerprint = await requestFingerprint('POST', '/v1/payments', body)
    const gate = await this.guard.claim(caller, fingerprint, {
      cardToken: request.payment_method,
      windowMs: policy.fraud.velocityWindowSec * 1000,
    })
    if (gate.kind === 'decided') {
      this.deps.metrics.idempotentReplays.inc({ source: 'redis' })
      return answerDecision(gate.decision)
    }
    // Derived from the request, so a retry served by any region makes this same payment.
    const id = await paymentIdFor(caller.merchantId, caller.idempotencyKey, fingerprint)
    return this.guard.guarded(caller, fingerprint, async () => {
      const write = this.buildCreate(caller, request, fingerprint, id, {
        cardBlocked: gate.cardBlocked || policy.blockedCards.has(request.payment_method),
        cardCount: gate.cardCount,
        merchantCount: gate.merchantCount,
      })
      const outcome = await this.deps.committer.submit({ ...write, epoch: caller.epoch })
      if (outcome.kind === 'refused') throw writeRefusal(outcome.reason, caller.merchantId)
      if (outcome.kind === 'written') {
        this.deps.metrics.paymentsCreated.inc({ status: write.payment.status })
        return { status: write.idempotency.status, body: write.idempotency.body, replayed: false }
      }
      return this.guard.replayFromPostgres(caller, fingerprint)
    })
  }

  private buildCreate(
    caller: Caller,
    request: CreatePaymentRequest,
    fingerprint: string,
    id: string,
    facts: { cardBlocked: boolean; cardCount: number; merchantCount: number },
  ): NewPaymentWrite {
    const { clock } = this.deps
    const currency = request.currency.toUpperCase() as Payment['currency']
    const verdict = evaluateFraud(
      { amount: request.amount, currency, ...facts },
      this.deps.policy(caller.merchantId).fraud,
    )
    const payment = newPayment({
      id,
      merchantId: caller.merchantId,
      amount: request.amount,
      currency,
      captureMethod: request.capture_method ?? 'automatic',
      paymentMethod: request.payment_method,
      description: request.description ?? null,
      metadata: request.metadata ?? {},
      originRegion: this.deps.region,
      hlc: clock.now(),
      ...(verdict.allow
        ? {}
        : { declined: { code: `fraud_${verdict.rule}`, message: verdict.message } }),
    })
    const body = JSON.stringify(presentPayment(payment))
    // The stored response travels with the event, so every region can replay it after failover.
    const idempotency: IdempotencyReplica = {
      merchantId: caller.merchantId,
      key: caller.idempotencyKey,
      fingerprint,
      status: 202,
      body,
      resourceId: id,
      originRegion: this.deps.region,
      hlc: payment.hlc,
    }
    const events = [
      makeEvent(clock, 'payment.created', caller.merchantId, { payment, idempotency }, id),
    ]
    if (!verdict.allow)
      events.push(makeEvent(clock, 'payment.declined', caller.merchantId, { payment }, id))
    return {
      payment,
      idempotency: { key: caller.idempotencyKey, fingerprint, status: 202, body },
      events,
    }
  }

  async capture(
    caller: Caller,
    paymentId: string,
    body: Record<string, unknown>,
  ): Promise<ApiResult> {
    const parsed = parseWith(capturePaymentSchema, body)
    if (!parsed.ok) throw parsed.error
    return this.mutate(caller, paymentId, 'capture', body, 'operation', (s, id) => {
      const plan = planCapture(s.payment, parsed.value.amount)
      if (!plan.ok) return plan
      return this.operation(s, {
        ...this.newOperation(s.payment, id, 'capture', plan.value.amount, null),
      })
    })
  }

  async cancel(
    caller: Caller,
    paymentId: string,
    body: Record<string, unknown>,
  ): Promise<ApiResult> {
    const parsed = parseWith(cancelPaymentSchema, body)
    if (!parsed.ok) throw parsed.error
    return this.mutate(caller, paymentId, 'cancel', body, 'operation', (s, id) => {
      const plan = planCancel(s.payment)
      if (!plan.ok) return plan
      const reason = parsed.value.cancellation_reason ?? null
      return this.operation(s, this.newOperation(s.payment, id, 'cancel', 0, reason))
    })
  }

  async refund(
    caller: Caller,
    paymentId: string,
    body: Record<string, unknown>,
  ): Promise<ApiResult> {
    const parsed = parseWith(createRefundSchema, body)
    if (!parsed.ok) throw parsed.error
    return this.mutate(caller, paymentId, 'refunds', body, 'refund', (s, id) => {
      const p = s.payment
      const plan = planRefund(p, parsed.value.amount)
      if (!plan.ok) return plan
      const refund: Refund = {
        id,
        paymentId: p.id,
        merchantId: p.merchantId,
        amount: plan.value.amount,
        currency: p.currency,
        status: 'pending',
        reason: parsed.value.reason ?? null,
        metadata: parsed.value.metadata ?? {},
        failureMessage: null,
        processorRef: null,
        originRegion: this.deps.region,
        createdAtMs: Date.now(),
      }
      const next = this.settled(s, { refunds: [...s.refunds, refund] })
      const event = makeEvent(
        this.deps.clock,
        'refund.created',
        p.merchantId,
        {
          payment: next,
          refund,
        },
        refund.id,
      )
      return {
        ok: true,
        value: {
          payment: next,
          refund,
          resourceId: refund.id,
          events: [event],
          response: { status: 202, body: JSON.stringify(presentRefund(refund)) },
        },
      }
    })
  }

  private newOperation(
    p: Payment,
    id: string,
    kind: Operation['kind'],
    amount: number,
    reason: string | null,
  ): Operation {
    return {
      id,
      paymentId: p.id,
      merchantId: p.merchantId,
      kind,
      amount,
      currency: p.currency,
      reason,
      status: 'pending',
      failureCode: null,
      failureMessage: null,
      originRegion: this.deps.region,
      createdAtMs: Date.now(),
    }
  }

  /** The payment after a local change: a new version, derived fields settled from its sets. */
  private settled(
    s: PaymentState,
    sets: { operations?: readonly Operation[]; refunds?: readonly Refund[] },
  ): Payment {
    const p = s.payment
    const bumped = { ...p, hlc: formatHlc(this.deps.clock.now()), version: p.version + 1 }
    return settlePayment(bumped, sets.operations ?? s.operations, sets.refunds ?? s.refunds)
  }

  /** A capture or cancel accepted: the operation, pending, and the payment showing it. */
  private operation(s: PaymentState, op: Operation): Plan<MutationEffect> {
    const next = this.settled(s, { operations: [...s.operations, op] })
    const type = op.kind === 'capture' ? 'payment.capture_requested' : 'payment.cancel_requested'
    const extra = op.kind === 'capture' ? { amount: op.amount } : { cancellation_reason: op.reason }
    const event = makeEvent(
      this.deps.clock,
      type,
      next.merchantId,
      {
        payment: next,
        operation: op,
        ...extra,
      },
      op.id,
    )
    return {
      ok: true,
      value: {
        payment: next,
        operation: op,
        resourceId: op.id,
        events: [event],
        response: { status: 202, body: JSON.stringify(presentPayment(next)) },
      },
    }
  }

  /**
   * A capture, cancel or refund: `decide` gets the locked payment's state and the id of what the
   * request makes, derived from the merchant and Idempotency-Key so a retry served by another
   * region makes the same operation (and the processor, keyed by it, acts once).
   */
  private async mutate(
    caller: Caller,
    paymentId: string,
    action: string,
    body: Record<string, unknown>,
    makes: 'operation' | 'refund',
    decide: (s: PaymentState, id: string) => Plan<MutationEffect>,
  ): Promise<ApiResult> {
    if (!isId('payment', paymentId)) throw errors.notFound('payment', paymentId)
    const fingerprint = await requestFingerprint(
      'POST',
      `/v1/payments/${paymentId}/${action}`,
      body,
    )
    const id = await operationIdFor(makes, caller.merchantId, caller.idempotencyKey)
    const gate = await this.guard.claim(caller, fingerprint)
    if (gate.kind === 'decided') return answerDecision(gate.decision)
    return this.guard.guarded(caller, fingerprint, async () => {
      const outcome = await mutatePayment(
        this.deps.pool,
        {
          merchantId: caller.merchantId,
          paymentId,
          region: this.deps.region,
          idempotency: { key: caller.idempotencyKey, fingerprint },
          routed: { epoch: caller.epoch, jurisdiction: this.deps.jurisdiction },
        },
        (s) => withIdempotency(decide(s, id), caller, fingerprint, this.deps.region),
      )
      switch (outcome.kind) {
        case 'applied':
          // Without it the relay found these events only at its idle poll (500 ms by default).
          this.deps.outboxWritten?.()
          return { ...outcome.response, replayed: false }
        case 'not_found':
          throw errors.notFound('payment', paymentId)
        case 'rejected':
          throw outcome.error
        case 'refused':
          throw writeRefusal(outcome.reason, caller.merchantId)
        case 'existing': {
          const decision = decideIdempotency(outcome.record, fingerprint)
          invariant(decision.kind !== 'new', 'a stored record cannot be new')
          return answerDecision(decision)
        }
      }
    })
  }

  async retrieve(merchantId: string, paymentId: string): Promise<ApiResult> {
    await this.limitRead(merchantId)
    const payment = isId('payment', paymentId)
      ? await getPayment(this.deps.pool, merchantId, paymentId)
      : undefined
    if (!payment) throw errors.notFound('payment', paymentId)
    return ok(200, presentPayment(payment))
  }

  async list(merchantId: string, query: Record<string, string>): Promise<ApiResult> {
    const parsed = parseWith(listPaymentsQuerySchema, query)
    if (!parsed.ok) throw parsed.error
    await this.limitRead(merchantId)
    const limit = parsed.value.limit ?? 10
    invariant(limit <= listLimitMax, 'limit validated')
    const page = await listPayments(this.deps.pool, merchantId, limit, parsed.value.starting_after)
    return ok(200, {
      object: 'list',
      url: '/v1/payments',
      has_more: page.hasMore,
      data: page.payments.map(presentPayment),
    })
  }

  private async limitRead(merchantId: string): Promise<void> {
    const limited = await this.deps.gate.limit(merchantId, this.deps.policy(merchantId).rate)
    if (limited) throw rateLimited(limited.retryAfterMs)
  }
}
