import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { defaultFraudPolicy, evaluateFraud } from './fraud.ts'
import { formatHlc } from './hlc.ts'
import { canonicalJson, decideIdempotency } from './idempotency.ts'
import { paymentStatuses } from './payment-status.ts'
import {
  createPaymentSchema,
  newPayment,
  type Payment,
  paymentMethodFor,
  planCancel,
  planCapture,
  planRefund,
} from './payments.ts'
import { parseWith } from './validate.ts'

function payment(overrides: Partial<Payment>): Payment {
  return {
    id: 'pay_x',
    merchantId: 'mer_acme',
    amount: 1000,
    currency: 'USD',
    status: 'authorized',
    captureMethod: 'manual',
    amountCaptured: 0,
    amountRefunded: 0,
    amountRefundPending: 0,
    pendingOperation: null,
    amountCaptureRequested: 0,
    paymentMethod: paymentMethodFor('pm_card_visa'),
    description: null,
    metadata: {},
    declineCode: null,
    failureMessage: null,
    processor: null,
    processorRef: null,
    authorizedAtMs: null,
    originRegion: 'us-east',
    createdAtMs: 0,
    hlc: '',
    version: 1,
    ...overrides,
  }
}

describe('operation plans', () => {
  it('capture: only an authorized payment, at most its amount, one operation at a time', () => {
    expect(planCapture(payment({}), undefined)).toEqual({ ok: true, value: { amount: 1000 } })
    expect(planCapture(payment({}), 400)).toEqual({ ok: true, value: { amount: 400 } })
    const over = planCapture(payment({}), 1001)
    expect(over.ok || over.error.code).toBe('amount_exceeds_capturable')
    const busy = planCapture(payment({ pendingOperation: 'cancel' }), undefined)
    expect(busy.ok || busy.error.code).toBe('payment_invalid_state')
    for (const status of paymentStatuses.filter((s) => s !== 'authorized')) {
      const plan = planCapture(payment({ status }), undefined)
      expect(plan.ok || plan.error.status).toBe(409)
    }
  })

  it('cancel: only an authorized payment with nothing in progress', () => {
    expect(planCancel(payment({})).ok).toBe(true)
    expect(planCancel(payment({ status: 'captured' })).ok).toBe(false)
    expect(planCancel(payment({ pendingOperation: 'capture' })).ok).toBe(false)
  })

  it('refunds never exceed what was captured, counting refunds still in flight', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.integer({ min: 1, max: 5_000 }), { maxLength: 10 }),
        (captured, requests) => {
          let p = payment({ status: 'captured', amount: captured, amountCaptured: captured })
          for (const amount of requests) {
            const plan = planRefund(p, amount)
            if (plan.ok)
              p = { ...p, amountRefundPending: p.amountRefundPending + plan.value.amount }
            expect(p.amountRefunded + p.amountRefundPending).toBeLessThanOrEqual(captured)
          }
        },
      ),
    )
    const full = planRefund(
      payment({ status: 'partially_refunded', amountCaptured: 1000, amountRefunded: 600 }),
      undefined,
    )
    expect(full).toEqual({ ok: true, value: { amount: 400 } })
    expect(planRefund(payment({ status: 'authorized' }), 1).ok).toBe(false)
  })
})

describe('idempotency decisions', () => {
  it('replays, refuses a different request, or reports in flight', () => {
    expect(decideIdempotency(undefined, 'a')).toEqual({ kind: 'new' })
    expect(decideIdempotency({ state: 'in_flight', fingerprint: 'a' }, 'a')).toEqual({
      kind: 'in_flight',
    })
    expect(decideIdempotency({ state: 'in_flight', fingerprint: 'a' }, 'b')).toEqual({
      kind: 'mismatch',
    })
    expect(
      decideIdempotency({ state: 'completed', fingerprint: 'a', status: 202, body: '{}' }, 'a'),
    ).toEqual({
      kind: 'replay',
      status: 202,
      body: '{}',
    })
  })

  it('canonical JSON ignores key order at every depth', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse())
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj))
      }),
    )
  })
})

describe('tier-1 fraud rules', () => {
  const facts = {
    amount: 100,
    currency: 'USD' as const,
    cardBlocked: false,
    cardCount: 1,
    merchantCount: 1,
  }
  it('allow ordinary payments and name the rule that declines the others', () => {
    expect(evaluateFraud(facts, defaultFraudPolicy)).toEqual({ allow: true })
    const rule = (f: Partial<typeof facts>) => {
      const v = evaluateFraud({ ...facts, ...f }, defaultFraudPolicy)
      return v.allow ? 'allow' : v.rule
    }
    expect(rule({ cardBlocked: true, amount: 10 ** 10 })).toBe('blocklist')
    expect(rule({ amount: defaultFraudPolicy.singlePaymentMinorMax + 1 })).toBe('amount_over_limit')
    expect(rule({ cardCount: defaultFraudPolicy.cardPaymentsPerWindowMax + 1 })).toBe(
      'velocity_card',
    )
    expect(rule({ cardCount: defaultFraudPolicy.cardPaymentsPerWindowMax })).toBe('allow')
    expect(rule({ merchantCount: defaultFraudPolicy.merchantPaymentsPerWindowMax + 1 })).toBe(
      'velocity_merchant',
    )
  })
})

describe('newPayment', () => {
  const fields = {
    id: 'pay_new',
    merchantId: 'mer_acme',
    amount: 1999,
    currency: 'EUR' as const,
    captureMethod: 'manual' as const,
    paymentMethod: 'pm_card_visa',
    description: null,
    metadata: { order: '42' },
    originRegion: 'eu-west',
    hlc: { wallMs: 1_700_000_000_000, logical: 3, node: 'eu-west' },
  }

  it('starts pending with nothing captured, stamped with its clock', () => {
    const p = newPayment(fields)
    expect(p).toMatchObject({
      status: 'pending',
      amountCaptured: 0,
      amountRefunded: 0,
      pendingOperation: null,
      declineCode: null,
      createdAtMs: 1_700_000_000_000,
      hlc: formatHlc(fields.hlc),
      version: 1,
    })
    expect(p.paymentMethod).toEqual(paymentMethodFor('pm_card_visa'))
  })

  it('records a payment refused by a fraud rule as declined, with the rule', () => {
    const p = newPayment({ ...fields, declined: { code: 'fraud_amount', message: 'too large' } })
    expect(p).toMatchObject({
      status: 'declined',
      declineCode: 'fraud_amount',
      failureMessage: 'too large',
    })
  })
})

describe('__proto__ as a key', () => {
  it('is refused with its path, not dropped on the way to the database (fuzzer seed -1316834370)', () => {
    const body = JSON.parse(
      '{"amount":352,"currency":"usd","payment_method":"pm_card_visa","metadata":{"__proto__":"x","a":""}}',
    )
    const parsed = parseWith(createPaymentSchema, body)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok)
      expect(parsed.error).toMatchObject({ code: 'parameter_invalid', param: 'metadata.__proto__' })
  })
})
