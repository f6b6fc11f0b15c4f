import { buildOpenApi } from '@meridian/core'
import type { LocalEdge } from '@meridian/local'
import {
  type AttemptInfo,
  AuthenticationError,
  CardError,
  IdempotencyError,
  InvalidRequestError,
  Meridian,
  type Payment,
  type PaymentStatus,
} from '@meridian/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEdgeFront } from '../harness/edge-front.ts'
import { eventually } from '../harness/eventually.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'

/**
 * Every resource of the SDK against a real region behind the edge: the payment's life (authorize,
 * capture in part, refund, cancel), the balance, webhook endpoints, and the server's refusals as
 * the SDK's typed errors, each sent once (none of them is retried).
 */
let region: ProcessingRegion
let edge: LocalEdge
let meridian: Meridian
const attempts: AttemptInfo[] = []
let cards = 0
const card = () => ({ currency: 'usd', payment_method: `tok_res_${cards++}` }) as const

beforeAll(async () => {
  region = await startProcessingRegion('sdk_resources')
  edge = await startEdgeFront(region, { rateLimitPerSec: 1_000 })
  meridian = new Meridian(edge.keys.mer_acme ?? '', {
    baseUrl: edge.url,
    onAttempt: (a) => attempts.push(a),
  })
}, 120_000)
afterAll(async () => {
  await edge?.stop()
  await region?.stop()
})

async function settled(id: string, status: PaymentStatus): Promise<Payment> {
  let last: Payment | undefined
  await eventually(async () => {
    last = await meridian.payments.retrieve(id)
    expect(last).toMatchObject({ status, processing: null })
  })
  return last as Payment
}

/** What the call threw, and how many attempts it took. */
async function refusal(call: () => Promise<unknown>) {
  const before = attempts.length
  const thrown = await call().then(
    () => undefined,
    (e: unknown) => e,
  )
  return { thrown, attempts: attempts.length - before }
}

describe('payments, refunds and the balance', () => {
  it('authorize, capture in part, refund: amounts in minor units all along', async () => {
    const created = await meridian.payments.create({
      ...card(),
      amount: 1_000,
      capture_method: 'manual',
    })
    expect(created).toMatchObject({ object: 'payment', status: 'pending', amount: 1_000 })
    await settled(created.id, 'authorized')
    const capturing = await meridian.payments.capture(created.id, { amount: 600 })
    expect(capturing.processing).toEqual({ operation: 'capture', amount: 600 })
    expect((await settled(created.id, 'captured')).amount_received).toBe(600)
    const refund = await meridian.refunds.create(created.id, { amount: 250 })
    expect(refund).toMatchObject({ object: 'refund', payment: created.id, amount: 250 })
    await eventually(async () =>
      expect((await meridian.payments.retrieve(created.id)).amount_refunded).toBe(250),
    )
    const balance = await meridian.balance.retrieve()
    expect(balance.object).toBe('balance')
    expect(balance.available.find((b) => b.currency === 'usd')?.amount).toBeGreaterThan(0)
  })

  it('cancel voids; a capture after it is a 409 InvalidRequestError, sent once', async () => {
    const created = await meridian.payments.create({
      ...card(),
      amount: 700,
      capture_method: 'manual',
    })
    await settled(created.id, 'authorized')
    await meridian.payments.cancel(created.id)
    await settled(created.id, 'canceled')
    const late = await refusal(() => meridian.payments.capture(created.id))
    expect(late.thrown).toBeInstanceOf(InvalidRequestError)
    expect(late.thrown).toMatchObject({
      status: 409,
      code: 'payment_invalid_state',
      details: { status: 'canceled' },
    })
    expect(late.attempts).toBe(1)
  })

  it('a payment declined at once is a CardError, the same on a replay of its key', async () => {
    // The region's velocity rule: a card used more than 20 times in a minute is declined.
    const token = `tok_res_velocity_${Date.now()}`
    const pay = (key: string) =>
      meridian.payments.create(
        { currency: 'usd', payment_method: token, amount: 100 },
        { idempotencyKey: key },
      )
    for (let i = 0; i < 20; i++) await pay(`velocity-${token}-${i}`)
    const declined = await refusal(() => pay(`velocity-${token}-last`))
    expect(declined.thrown).toBeInstanceOf(CardError)
    const error = declined.thrown as CardError
    expect(error.payment.status).toBe('declined')
    expect(error.declineCode).toBe(error.payment.decline_code)
    const again = await refusal(() => pay(`velocity-${token}-last`))
    expect((again.thrown as CardError).payment.id).toBe(error.payment.id)
  })
})

describe("the server's refusals, typed", () => {
  it('a bad parameter names it', async () => {
    const bad = await refusal(() => meridian.payments.create({ ...card(), amount: -5 }))
    expect(bad.thrown).toBeInstanceOf(InvalidRequestError)
    expect(bad.thrown).toMatchObject({ status: 400, param: 'amount' })
    expect((bad.thrown as InvalidRequestError).requestId).toMatch(/^req_/)
    expect(bad.attempts).toBe(1)
  })

  it('a key reused for another request is an IdempotencyError carrying the key', async () => {
    await meridian.payments.create({ ...card(), amount: 100 }, { idempotencyKey: 'res-reused' })
    const reused = await refusal(() =>
      meridian.payments.create({ ...card(), amount: 200 }, { idempotencyKey: 'res-reused' }),
    )
    expect(reused.thrown).toBeInstanceOf(IdempotencyError)
    expect(reused.thrown).toMatchObject({
      status: 422,
      code: 'idempotency_key_reused',
      idempotencyKey: 'res-reused',
    })
    expect(reused.attempts).toBe(1)
  })

  it('an unknown key is an AuthenticationError; an unknown payment a 404', async () => {
    const stranger = new Meridian(`sk_test_${'x'.repeat(24)}`, { baseUrl: edge.url })
    await expect(stranger.balance.retrieve()).rejects.toBeInstanceOf(AuthenticationError)
    const missing = await refusal(() => meridian.payments.retrieve('pay_nothing'))
    expect(missing.thrown).toMatchObject({ status: 404, code: 'resource_missing' })
  })
})

describe('webhook endpoints', () => {
  it('create shows the secret once; list and replay', async () => {
    const created = await meridian.webhookEndpoints.create({ url: 'http://127.0.0.1:9/hooks' })
    expect(created.secret).toMatch(/^whsec_/)
    const listed = await meridian.webhookEndpoints.list()
    const found = listed.data.find((e) => e.id === created.id)
    expect(found).toMatchObject({ url: 'http://127.0.0.1:9/hooks', status: 'enabled' })
    expect(found?.secret).toBeUndefined()
    const replay = await meridian.webhookEndpoints.replay(created.id)
    expect(replay).toEqual({ object: 'webhook_replay', endpoint: created.id, requeued: 0 })
  })
})

describe('the contract the types come from', () => {
  it('is the document the region serves', async () => {
    const url = region.running.url ?? ''
    const served = await (await fetch(`${url}/openapi.json`)).json()
    // sdk/scripts/openapi-types.test.ts holds the generated types to buildOpenApi().
    expect(served).toEqual(buildOpenApi())
  })
})
