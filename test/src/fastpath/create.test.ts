import { isId, paymentIdFor, paymentObjectSchema, requestFingerprint } from '@meridian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

let region: TestRegion
beforeAll(async () => {
  region = await startTestRegion('create')
})
afterAll(async () => {
  await region?.stop()
})

const valid = { amount: 1999, currency: 'usd', payment_method: 'pm_card_visa' }

describe('POST /v1/payments', () => {
  it('accepts a payment: 202 pending, persisted with its outbox row, published to Kafka', async () => {
    const before = await region.topicSize()
    const res = await region
      .client()
      .post('/v1/payments', { ...valid, metadata: { order: '42' } }, 'key-create-1')
    expect(res.status).toBe(202)
    const payment = paymentObjectSchema.parse(res.json)
    expect(payment).toMatchObject({
      amount: 1999,
      currency: 'usd',
      status: 'pending',
      capture_method: 'automatic',
    })
    expect(payment.payment_method.card).toEqual({ brand: 'visa', last4: '4242' })
    expect(res.headers.get('Meridian-Region')).toBe('us-east')
    expect(res.headers.get('Request-Id')).toMatch(/^req_/)
    expect(res.headers.get('Idempotent-Replayed')).toBeNull()
    const { rows } = await region.db.pool.query(
      'select status, amount from payments where id = $1',
      [payment.id],
    )
    expect(rows).toEqual([{ status: 'pending', amount: '1999' }])
    const outbox = await region.db.pool.query(
      "select type, envelope from outbox where envelope->'payload'->'payment'->>'id' = $1",
      [payment.id],
    )
    expect(outbox.rows.map((r) => r.type)).toEqual(['payment.created'])
    await eventually(async () => expect(await region.topicSize()).toBe(before + 1))
  })
})

describe('bad input gets a clear error and changes nothing', () => {
  const cases: [
    string,
    { body?: unknown; rawBody?: string; key?: string | null },
    number,
    string,
    string?,
  ][] = [
    ['malformed JSON', { rawBody: '{"amount": 10,' }, 400, 'body_invalid_json'],
    ['a JSON array', { rawBody: '[1,2]' }, 400, 'body_invalid_json'],
    ['amount as a string', { body: { ...valid, amount: '1999' } }, 400, 'amount_invalid', 'amount'],
    ['negative amount', { body: { ...valid, amount: -5 } }, 400, 'amount_invalid', 'amount'],
    ['zero amount', { body: { ...valid, amount: 0 } }, 400, 'amount_invalid', 'amount'],
    ['fractional amount', { body: { ...valid, amount: 10.5 } }, 400, 'amount_invalid', 'amount'],
    [
      'huge amount',
      { body: { ...valid, amount: 10_000_000_001 } },
      400,
      'amount_invalid',
      'amount',
    ],
    [
      'unsafe integer amount',
      {
        rawBody:
          '{"amount": 9007199254740993, "currency": "usd", "payment_method": "pm_card_visa"}',
      },
      400,
      'amount_invalid',
      'amount',
    ],
    [
      'unknown currency',
      { body: { ...valid, currency: 'xyz' } },
      400,
      'currency_invalid',
      'currency',
    ],
    [
      'currency of wrong length',
      { body: { ...valid, currency: 'us' } },
      400,
      'currency_invalid',
      'currency',
    ],
    [
      'missing amount',
      { body: { currency: 'usd', payment_method: 'pm_card_visa' } },
      400,
      'parameter_missing',
      'amount',
    ],
    [
      'missing payment method',
      { body: { amount: 100, currency: 'usd' } },
      400,
      'parameter_missing',
      'payment_method',
    ],
    ['unknown field', { body: { ...valid, amout: 5 } }, 400, 'parameter_unknown', 'amout'],
    [
      'bad capture method',
      { body: { ...valid, capture_method: 'later' } },
      400,
      'parameter_invalid',
      'capture_method',
    ],
    [
      'bad payment method',
      { body: { ...valid, payment_method: '4242424242424242' } },
      400,
      'parameter_invalid',
      'payment_method',
    ],
    [
      'non-string metadata',
      { body: { ...valid, metadata: { a: 1 } } },
      400,
      'parameter_invalid',
      'metadata.a',
    ],
    [
      'too many metadata keys',
      {
        body: {
          ...valid,
          metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
        },
      },
      400,
      'parameter_invalid',
      'metadata',
    ],
    ['missing Idempotency-Key', { body: valid, key: null }, 400, 'idempotency_key_missing'],
    [
      'Idempotency-Key with spaces',
      { body: valid, key: 'has space' },
      400,
      'idempotency_key_invalid',
    ],
    [
      'body over the size limit',
      { body: { ...valid, description: 'x'.repeat(20_000) } },
      413,
      'body_too_large',
    ],
  ]

  it.each(cases)('%s', async (_name, input, status, code, param) => {
    const counts = await tableCounts(region.db)
    const topic = await region.topicSize()
    const key = input.key === null ? undefined : (input.key ?? `key-bad-${Math.random()}`)
    const res = await region.client().request('POST', '/v1/payments', {
      ...(input.rawBody === undefined ? { body: input.body } : { rawBody: input.rawBody }),
      ...(key === undefined ? {} : { idempotencyKey: key }),
    })
    expect(res.status).toBe(status)
    expect(res.json.error.code).toBe(code)
    expect(res.json.error.request_id).toBe(res.headers.get('Request-Id'))
    expect(typeof res.json.error.message).toBe('string')
    if (param) expect(res.json.error.param).toBe(param)
    expect(res.text).not.toMatch(/at .*\.ts/)
    expect(await tableCounts(region.db)).toEqual(counts)
    expect(await region.topicSize()).toBe(topic)
  })
})

describe('POST /v1/payments ids derive from the merchant, the key and the request', () => {
  it('the same key and request make the same id; another key or another request another id', async () => {
    const first = await region.client().post('/v1/payments', valid, 'key-derived-1')
    const other = await region.client().post('/v1/payments', valid, 'key-derived-2')
    expect([first.status, other.status]).toEqual([202, 202])
    const id = paymentObjectSchema.parse(first.json).id
    expect(id).toBe(await paymentIdFor('mer_acme', 'key-derived-1', await fingerprintOf(valid)))
    expect(isId('payment', id)).toBe(true)
    expect(other.json.id).not.toBe(id)
    const changed = await paymentIdFor(
      'mer_acme',
      'key-derived-1',
      await fingerprintOf({ ...valid, amount: valid.amount + 1 }),
    )
    expect(changed).not.toBe(id)
  })

  it('a second region serving a retry of the same request creates the same payment, not another', async () => {
    // A region committed but never answered; the retry lands elsewhere before replication.
    const other = await startTestRegion('create-twin', 'eu-west')
    try {
      const first = await region.client().post('/v1/payments', valid, 'key-twin')
      const second = await other.client().post('/v1/payments', valid, 'key-twin')
      expect([first.status, second.status]).toEqual([202, 202])
      expect(paymentObjectSchema.parse(second.json).id).toBe(first.json.id)
    } finally {
      await other.stop()
    }
  })
})

const fingerprintOf = (body: unknown) => requestFingerprint('POST', '/v1/payments', body)
