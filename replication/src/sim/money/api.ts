import type { PaymentState } from '@meridian/core'
import {
  decideIdempotency,
  deriveId,
  formatHlc,
  type HybridClock,
  type IdempotencyReplica,
  MeridianError,
  newPayment,
  type Operation,
  operationIdFor,
  type Payment,
  paymentIdFor,
  planCancel,
  planCapture,
  planRefund,
  presentPayment,
  presentRefund,
  type Refund,
  requestFingerprint,
  settlePayment,
} from '@meridian/core'
import type { RegionStore } from './store.ts'
import { makeModelEvent } from './time.ts'

/** Which protocol the regions speak: today's (ids derived from the request) or the one before. */
export type Protocol = 'derived-ids' | 'random-ids'

export type ApiRequest =
  | {
      readonly kind: 'create'
      readonly merchantId: string
      readonly key: string
      readonly body: {
        readonly amount: number
        readonly currency: string
        readonly payment_method: string
        readonly capture_method: 'automatic' | 'manual'
      }
      /** random-ids: the id the edge minted for this edge request (the protocol before 2e85293). */
      readonly mintedId?: string
    }
  | {
      readonly kind: 'capture' | 'refunds'
      readonly merchantId: string
      readonly key: string
      readonly paymentId: string
      readonly body: { readonly amount?: number }
    }
  | {
      readonly kind: 'cancel'
      readonly merchantId: string
      readonly key: string
      readonly paymentId: string
      readonly body: Record<string, never>
    }

export interface ApiAnswer {
  readonly status: number
  readonly region: string
  /** The object the request made (or replayed): what an acknowledged request promises exists. */
  readonly resourceId?: string
  readonly replayed?: boolean
  readonly code?: string
}

/** Who made what: every object the API wrote, with the (merchant, key) of the request. */
export interface Made {
  readonly kind: 'payment' | 'operation' | 'refund'
  readonly id: string
  readonly merchantId: string
  readonly key: string
  readonly amount: number
  readonly region: string
}

/**
 * One region's API for the money path (regions/src/payments/service.ts): validate against the
 * local state with core's plans, answer a known key from its stored record (replay, or 422 for
 * another request), derive the object's id, write everything in one transaction. Redis (an
 * accelerator) and fraud rules are left out; Postgres decides.
 */
export class RegionApi {
  private minted = 0

  constructor(
    private readonly region: string,
    private readonly store: RegionStore,
    private readonly clock: HybridClock,
    private readonly wallMs: () => number,
    private readonly protocol: Protocol,
    private readonly made: (m: Made) => void,
  ) {}

  async handle(req: ApiRequest): Promise<ApiAnswer> {
    try {
      return req.kind === 'create' ? await this.create(req) : await this.mutate(req)
    } catch (error) {
      if (error instanceof MeridianError)
        return { status: error.status, region: this.region, code: error.code }
      return { status: 500, region: this.region, code: String(error) }
    }
  }

  private async create(req: Extract<ApiRequest, { kind: 'create' }>): Promise<ApiAnswer> {
    const fingerprint = await requestFingerprint('POST', '/v1/payments', req.body)
    const id =
      this.protocol === 'derived-ids' || req.mintedId === undefined
        ? await paymentIdFor(req.merchantId, req.key, fingerprint)
        : req.mintedId
    // From here on, one transaction: nothing awaits.
    const existing = this.store.idempotency.get(this.store.idempotencyKey(req.merchantId, req.key))
    if (existing) return this.fromRecord(existing, fingerprint)
    const payment = newPayment({
      id,
      merchantId: req.merchantId,
      amount: req.body.amount,
      currency: req.body.currency.toUpperCase() as Payment['currency'],
      captureMethod: req.body.capture_method,
      paymentMethod: req.body.payment_method,
      description: null,
      metadata: {},
      originRegion: this.region,
      hlc: this.clock.now(),
    })
    const body = JSON.stringify(presentPayment(payment))
    const record: IdempotencyReplica = {
      merchantId: req.merchantId,
      key: req.key,
      fingerprint,
      status: 202,
      body,
      resourceId: id,
      originRegion: this.region,
      hlc: payment.hlc,
    }
    const event = makeModelEvent(this.clock, 'payment.created', req.merchantId, {
      payment,
      idempotency: record,
    })
    this.store.insertCreate(payment, record, [event])
    this.made({
      kind: 'payment',
      id,
      merchantId: req.merchantId,
      key: req.key,
      amount: payment.amount,
      region: this.region,
    })
    return { status: 202, region: this.region, resourceId: id }
  }

  private fromRecord(record: IdempotencyReplica | undefined, fingerprint: string): ApiAnswer {
    const decision = decideIdempotency(
      record && { state: 'completed', fingerprint: record.fingerprint, status: 202, body: '' },
      fingerprint,
    )
    if (decision.kind === 'replay' && record)
      return {
        status: record.status,
        region: this.region,
        resourceId: record.resourceId,
        replayed: true,
      }
    if (decision.kind === 'mismatch')
      return { status: 422, region: this.region, code: 'idempotency_key_reused' }
    return { status: 500, region: this.region, code: 'a taken key without its record' }
  }

  private async mutate(req: Exclude<ApiRequest, { kind: 'create' }>): Promise<ApiAnswer> {
    const fingerprint = await requestFingerprint(
      'POST',
      `/v1/payments/${req.paymentId}/${req.kind}`,
      req.body,
    )
    const makes = req.kind === 'refunds' ? 'refund' : 'operation'
    const id =
      this.protocol === 'derived-ids'
        ? await operationIdFor(makes, req.merchantId, req.key)
        : await deriveId(makes, this.region, 'minted', String(this.minted++))
    // From here on, one transaction: nothing awaits.
    const row = this.store.payments.get(req.paymentId)
    if (!row || row.payment.merchantId !== req.merchantId)
      return { status: 404, region: this.region, code: 'payment_not_found' }
    const existing = this.store.idempotency.get(this.store.idempotencyKey(req.merchantId, req.key))
    if (existing) return this.fromRecord(existing, fingerprint)
    const s = this.store.state(req.paymentId) as PaymentState
    const effect = this.decide(req, s, id)
    if (!effect.ok)
      return { status: effect.error.status, region: this.region, code: effect.error.code }
    const { payment, operation, refund, type, extra } = effect.value
    const record: IdempotencyReplica = {
      merchantId: req.merchantId,
      key: req.key,
      fingerprint,
      status: 202,
      body: JSON.stringify(refund ? presentRefund(refund) : presentPayment(payment)),
      resourceId: id,
      originRegion: this.region,
      hlc: payment.hlc,
    }
    const event = makeModelEvent(this.clock, type, req.merchantId, {
      payment,
      ...(operation ? { operation } : {}),
      ...(refund ? { refund } : {}),
      ...extra,
      idempotency: record,
    })
    this.store.applyMutation({
      payment,
      ...(operation ? { operation } : {}),
      ...(refund ? { refund } : {}),
      events: [event],
      record,
    })
    this.made({
      kind: makes,
      id,
      merchantId: req.merchantId,
      key: req.key,
      amount: operation?.amount ?? refund?.amount ?? 0,
      region: this.region,
    })
    return { status: 202, region: this.region, resourceId: id }
  }

  /** The plan of service.ts for each mutation, with its derived fields settled. */
  private decide(req: Exclude<ApiRequest, { kind: 'create' }>, s: PaymentState, id: string) {
    const p = s.payment
    const nowMs = this.wallMs()
    const settled = (sets: { operations?: readonly Operation[]; refunds?: readonly Refund[] }) => {
      const bumped = { ...p, hlc: formatHlc(this.clock.now()), version: p.version + 1 }
      return settlePayment(bumped, sets.operations ?? s.operations, sets.refunds ?? s.refunds)
    }
    const operation = (kind: Operation['kind'], amount: number) => {
      const op: Operation = {
        id,
        paymentId: p.id,
        merchantId: p.merchantId,
        kind,
        amount,
        currency: p.currency,
        reason: null,
        status: 'pending',
        failureCode: null,
        failureMessage: null,
        originRegion: this.region,
        createdAtMs: nowMs,
      }
      return {
        ok: true as const,
        value: {
          payment: settled({ operations: [...s.operations, op] }),
          operation: op,
          refund: undefined,
          type:
            kind === 'capture'
              ? ('payment.capture_requested' as const)
              : ('payment.cancel_requested' as const),
          extra: kind === 'capture' ? { amount } : { cancellation_reason: null },
        },
      }
    }
    switch (req.kind) {
      case 'capture': {
        const plan = planCapture(p, req.body.amount)
        return plan.ok ? operation('capture', plan.value.amount) : plan
      }
      case 'cancel': {
        const plan = planCancel(p)
        return plan.ok ? operation('cancel', 0) : plan
      }
      case 'refunds': {
        const plan = planRefund(p, req.body.amount)
        if (!plan.ok) return plan
        const refund: Refund = {
          id,
          paymentId: p.id,
          merchantId: p.merchantId,
          amount: plan.value.amount,
          currency: p.currency,
          status: 'pending',
          reason: null,
          metadata: {},
          failureMessage: null,
          processorRef: null,
          originRegion: this.region,
          createdAtMs: nowMs,
        }
        return {
          ok: true as const,
          value: {
            payment: settled({ refunds: [...s.refunds, refund] }),
            operation: undefined,
            refund,
            type: 'refund.created' as const,
            extra: {},
          },
        }
      }
    }
  }
}
