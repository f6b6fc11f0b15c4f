import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  comparePaymentProgress,
  contradictions,
  counterValue,
  type GCounter,
  type IdempotencyReplica,
  mergeCounter,
  mergeEntrySets,
  mergeIdempotency,
  mergePayment,
  mergeRefund,
  type PaymentReplica,
  statusRank,
  withoutDerived,
} from './merge.ts'
import { canReach, paymentStatuses } from './payment-status.ts'
import { type Payment, paymentMethodFor, type Refund } from './payments.ts'

const regions = ['us-east', 'eu-west', 'ap-south'] as const

const payment: fc.Arbitrary<Payment> = fc
  .record({
    status: fc.constantFrom(...paymentStatuses),
    captured: fc.integer({ min: 0, max: 1000 }),
    refunded: fc.integer({ min: 0, max: 1000 }),
    version: fc.integer({ min: 1, max: 9 }),
    wall: fc.integer({ min: 0, max: 99 }),
    region: fc.constantFrom(...regions),
    // Independent of the clock's region: one id created in two regions (a failover race).
    origin: fc.constantFrom(...regions),
    created: fc.integer({ min: 0, max: 3 }),
    pending: fc.constantFrom(null, 'capture' as const, 'cancel' as const),
  })
  .map((r) => ({
    id: 'pay_1',
    merchantId: 'mer_acme',
    amount: 1000,
    currency: 'USD',
    status: r.status,
    captureMethod: 'manual',
    amountCaptured: r.captured,
    amountRefunded: Math.min(r.refunded, r.captured),
    amountRefundPending: 0,
    pendingOperation: r.pending,
    amountCaptureRequested: 0,
    paymentMethod: paymentMethodFor('pm_card_visa'),
    description: null,
    metadata: {},
    declineCode: null,
    failureMessage: null,
    processor: null,
    processorRef: null,
    authorizedAtMs: null,
    originRegion: r.origin,
    createdAtMs: r.created,
    hlc: `${String(r.wall).padStart(15, '0')}.00000.${r.region}`,
    version: r.version,
  }))

const replica: fc.Arbitrary<PaymentReplica> = payment.map((p) => ({ payment: p, seen: [p.status] }))

function laws<T>(name: string, arb: fc.Arbitrary<T>, merge: (a: T, b: T) => T) {
  describe(`${name} is a semilattice join`, () => {
    it('commutative', () =>
      fc.assert(
        fc.property(arb, arb, (a, b) => {
          expect(merge(a, b)).toEqual(merge(b, a))
        }),
      ))
    it('associative', () =>
      fc.assert(
        fc.property(arb, arb, arb, (a, b, c) => {
          expect(merge(merge(a, b), c)).toEqual(merge(a, merge(b, c)))
        }),
      ))
    it('idempotent', () =>
      fc.assert(
        fc.property(arb, (a) => {
          expect(merge(a, a)).toEqual(a)
        }),
      ))
  })
}

laws('mergePayment', replica, mergePayment)
laws(
  'mergeCounter',
  fc.dictionary(fc.constantFrom(...regions), fc.nat(100)) as fc.Arbitrary<GCounter>,
  mergeCounter,
)
laws(
  'mergeRefund',
  fc
    .record({
      status: fc.constantFrom('pending' as const, 'succeeded' as const, 'failed' as const),
      amount: fc.integer({ min: 1, max: 5 }),
    })
    .map(
      (r): Refund => ({
        id: 're_1',
        paymentId: 'pay_1',
        merchantId: 'mer_acme',
        amount: r.amount,
        currency: 'USD',
        status: r.status,
        reason: null,
        metadata: {},
        failureMessage: null,
        processorRef: null,
        originRegion: 'us-east',
        createdAtMs: 0,
      }),
    ),
  mergeRefund,
)
laws(
  'mergeEntrySets',
  fc
    .array(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd'), n: fc.nat(3) }), { maxLength: 5 })
    .map((xs) =>
      [...new Map(xs.map((x) => [x.id, x])).values()].sort((x, y) => (x.id < y.id ? -1 : 1)),
    ),
  mergeEntrySets,
)

const idem: fc.Arbitrary<IdempotencyReplica> = fc
  .record({
    region: fc.constantFrom(...regions),
    wall: fc.nat(9),
    fp: fc.constantFrom('f1', 'f2'),
    res: fc.constantFrom('pay_a', 'pay_b'),
  })
  .map((r) => ({
    merchantId: 'mer_acme',
    key: 'k',
    fingerprint: r.fp,
    status: 202,
    body: `{"id":"${r.res}"}`,
    resourceId: r.res,
    originRegion: r.region,
    hlc: `${r.wall}.${r.region}`,
  }))
laws('mergeIdempotency (winner)', idem, (a, b) => mergeIdempotency(a, b).winner)

describe('merge properties that matter for money', () => {
  it('a merge never moves a status backwards along the state machine', () => {
    fc.assert(
      fc.property(replica, replica, (a, b) => {
        const merged = mergePayment(a, b).payment.status
        expect(statusRank[merged]).toBeGreaterThanOrEqual(
          Math.max(statusRank[a.payment.status], statusRank[b.payment.status]),
        )
        // When one status leads to the other, the merge is the later one.
        if (canReach(a.payment.status, b.payment.status)) expect(merged).toBe(b.payment.status)
      }),
    )
  })

  it('amounts captured and refunded never shrink in a merge of comparable states', () => {
    fc.assert(
      fc.property(replica, replica, (a, b) => {
        fc.pre(a.payment.status === b.payment.status)
        const m = mergePayment(a, b).payment
        expect(m.amountCaptured).toBe(Math.max(a.payment.amountCaptured, b.payment.amountCaptured))
      }),
    )
  })

  it('keeps and flags contradictions: captured in one region, canceled in another', () => {
    const base = { payment: fcSample(), seen: [] }
    const captured = mergePayment(
      { ...base, payment: { ...base.payment, status: 'captured' }, seen: ['captured'] },
      { ...base, payment: { ...base.payment, status: 'canceled' }, seen: ['canceled'] },
    )
    expect(captured.payment.status).toBe('captured')
    expect(captured.seen).toEqual(['canceled', 'captured'])
    expect(contradictions(captured.seen)).toEqual([['canceled', 'captured']])
    expect(contradictions(['pending', 'authorized', 'captured'])).toEqual([])
  })

  it('idempotency conflicts resolve to the earliest record everywhere, and are flagged', () => {
    fc.assert(
      fc.property(idem, idem, (a, b) => {
        const m = mergeIdempotency(a, b)
        expect(m.winner).toEqual(mergeIdempotency(b, a).winner)
        expect(m.conflict).toBe(a.resourceId !== b.resourceId || a.fingerprint !== b.fingerprint)
      }),
    )
  })

  it('counters read as the sum of per-region slots', () => {
    expect(
      counterValue(mergeCounter({ 'us-east': 3, 'eu-west': 1 }, { 'us-east': 2, 'ap-south': 4 })),
    ).toBe(8)
  })

  it('progress order is total (antisymmetric) on distinct snapshots', () => {
    fc.assert(
      fc.property(payment, payment, (a, b) => {
        const ab = comparePaymentProgress(a, b)
        const ba = comparePaymentProgress(b, a)
        expect(Math.sign(ab)).toBe(-Math.sign(ba) || 0)
        // Ties only on what is derived (refunds, operations in progress) or where it was created.
        const base = (p: Payment) => ({ ...withoutDerived(p), originRegion: '', createdAtMs: 0 })
        if (ab === 0) expect(base(a)).toEqual(base(b))
      }),
    )
  })

  it('a payment created in two regions keeps the smaller origin and the earlier creation', () => {
    fc.assert(
      fc.property(replica, replica, (a, b) => {
        const merged = mergePayment(a, b).payment
        expect(merged.originRegion).toBe([a.payment.originRegion, b.payment.originRegion].sort()[0])
        expect(merged.createdAtMs).toBe(Math.min(a.payment.createdAtMs, b.payment.createdAtMs))
        const winner = comparePaymentProgress(a.payment, b.payment) > 0 ? a.payment : b.payment
        if (comparePaymentProgress(a.payment, b.payment) !== 0)
          expect({ ...withoutDerived(merged), originRegion: '', createdAtMs: 0 }).toEqual({
            ...withoutDerived(winner),
            originRegion: '',
            createdAtMs: 0,
          })
        // Refunded amounts only grow: the larger of the two.
        expect(merged.amountRefunded).toBe(
          Math.max(a.payment.amountRefunded, b.payment.amountRefunded),
        )
      }),
    )
  })
})

function fcSample(): Payment {
  const [p] = fc.sample(payment, { numRuns: 1, seed: 7 })
  if (!p) throw new Error('no sample')
  return p
}
