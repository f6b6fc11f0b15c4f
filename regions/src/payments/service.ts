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
  newId,
  newPayment,
  type Payment,
  type Plan,
  parseWith,
  planCancel,
  planCapture,
  planRefund,
  presentPayment,
  presentRefund,
  type Refund,
  requestFingerprint,
} from '@meridian/core'
import type pg from 'pg'
import type { FastPathGate, RateLimit } from '../fastpath/gate.ts'
import type { GroupCommitter } from '../group-commit.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import {
  type CreateOutcome,
  getPayment,
  listPayments,
  type MutationEffect,
  mutatePayment,
  type NewPaymentWrite,
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
  readonly pool: pg.Pool
  readonly gate: FastPathGate
  readonly clock: HybridClock
  readonly committer: GroupCommitter<NewPaymentWrite, CreateOutcome>
  readonly policy: (merchantId: string) => PaymentPolicy
  readonly log: Logger
  readonly metrics: Metrics
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
    resourceId: effect.refund?.id ?? effect.payment.id,
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

  /** `proposedId`: the id the edge chose for this payment, kept across its failover attempts. */
  async create(
    caller: Caller,
    body: Record<string, unknown>,
    proposedId?: string,
  ): Promise<ApiResult> {
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
    return this.guard.guarded(caller, fingerprint, async () => {
      const write = this.buildCreate(caller, request, fingerprint, proposedId, {
        cardBlocked: gate.cardBlocked || policy.blockedCards.has(request.payment_method),
        cardCount: gate.cardCount,
        merchantCount: gate.merchantCount,
      })
      const outcome = await this.deps.committer.submit(write)
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
    proposedId: string | undefined,
    facts: { cardBlocked: boolean; cardCount: number; merchantCount: number },
  ): NewPaymentWrite {
    const { clock } = this.deps
    const currency = request.currency.toUpperCase() as Payment['currency']
    const verdict = evaluateFraud(
      { amount: request.amount, currency, ...facts },
      this.deps.policy(caller.merchantId).fraud,
    )
    const id = proposedId ?? newId('payment')
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
      makeEvent(clock, 'payment.created', caller.merchantId, { payment, idempotency }),
    ]
    if (!verdict.allow)
      events.push(makeEvent(clock, 'payment.declined', caller.merchantId, { payment }))
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
    return this.mutate(caller, paymentId, 'capture', body, (p) => {
      const plan = planCapture(p, parsed.value.amount)
      if (!plan.ok) return plan
      const next = this.bump(p, {
        pendingOperation: 'capture',
        amountCaptureRequested: plan.value.amount,
      })
      return this.effect(next, 'payment.capture_requested', { amount: plan.value.amount })
    })
  }

  async cancel(
    caller: Caller,
    paymentId: string,
    body: Record<string, unknown>,
  ): Promise<ApiResult> {
    const parsed = parseWith(cancelPaymentSchema, body)
    if (!parsed.ok) throw parsed.error
    return this.mutate(caller, paymentId, 'cancel', body, (p) => {
      const plan = planCancel(p)
      if (!plan.ok) return plan
      const next = this.bump(p, { pendingOperation: 'cancel' })
      return this.effect(next, 'payment.cancel_requested', {
        cancellation_reason: parsed.value.cancellation_reason ?? null,
      })
    })
  }

  async refund(
    caller: Caller,
    paymentId: string,
    body: Record<string, unknown>,
  ): Promise<ApiResult> {
    const parsed = parseWith(createRefundSchema, body)
    if (!parsed.ok) throw parsed.error
    return this.mutate(caller, paymentId, 'refunds', body, (p) => {
      const plan = planRefund(p, parsed.value.amount)
      if (!plan.ok) return plan
      const next = this.bump(p, { amountRefundPending: p.amountRefundPending + plan.value.amount })
      const refund: Refund = {
        id: newId('refund'),
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
      const event = makeEvent(this.deps.clock, 'refund.created', p.merchantId, {
        payment: next,
        refund,
      })
      return {
        ok: true,
        value: {
          payment: next,
          refund,
          events: [event],
          response: { status: 202, body: JSON.stringify(presentRefund(refund)) },
        },
      }
    })
  }

  private bump(p: Payment, changes: Partial<Payment>): Payment {
    return { ...p, ...changes, hlc: formatHlc(this.deps.clock.now()), version: p.version + 1 }
  }

  private effect(
    next: Payment,
    type: 'payment.capture_requested' | 'payment.cancel_requested',
    extra: Record<string, unknown>,
  ): Plan<MutationEffect> {
    const event = makeEvent(this.deps.clock, type, next.merchantId, { payment: next, ...extra })
    return {
      ok: true,
      value: {
        payment: next,
        events: [event],
        response: { status: 202, body: JSON.stringify(presentPayment(next)) },
      },
    }
  }

  private async mutate(
    caller: Caller,
    paymentId: string,
    action: string,
    body: Record<string, unknown>,
    decide: (p: Payment) => Plan<MutationEffect>,
  ): Promise<ApiResult> {
    if (!isId('payment', paymentId)) throw errors.notFound('payment', paymentId)
    const fingerprint = await requestFingerprint(
      'POST',
      `/v1/payments/${paymentId}/${action}`,
      body,
    )
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
        },
        (p) => withIdempotency(decide(p), caller, fingerprint, this.deps.region),
      )
      switch (outcome.kind) {
        case 'applied':
          return { ...outcome.response, replayed: false }
        case 'not_found':
          throw errors.notFound('payment', paymentId)
        case 'rejected':
          throw outcome.error
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
