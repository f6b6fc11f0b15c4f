import type { LocalEdge } from '@meridian/local'
import {
  type AttemptInfo,
  ConnectionError,
  constructEvent,
  Meridian,
  type MeridianOptions,
  SignatureVerificationError,
} from '@meridian/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DropProxy, startDropProxy } from '../harness/drop-proxy.ts'
import { startEdgeFront } from '../harness/edge-front.ts'
import { eventually } from '../harness/eventually.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { WebhookReceiver } from '../harness/receiver.ts'

/**
 * Issue 22's "done when", against a real region (Postgres, Redis, Kafka, workers, processor
 * simulators, webhook deliverer) behind the real edge worker on workerd: the SDK as a merchant
 * runs it, nothing of ours faked.
 */
let region: ProcessingRegion
let edge: LocalEdge
let proxy: DropProxy
const receiver = new WebhookReceiver()
/** Low enough that a burst of one merchant's calls is refused; the SDK must wait it out. */
const rateLimitPerSec = 10
let cards = 0
/** A card of its own per payment: the region's velocity rule declines a card used too often. */
const card = () => ({ currency: 'usd', payment_method: `tok_sdk_${cards++}` }) as const

beforeAll(async () => {
  region = await startProcessingRegion('sdk_done')
  edge = await startEdgeFront(region, { rateLimitPerSec })
  proxy = await startDropProxy(edge.url)
  await receiver.start()
}, 120_000)
afterAll(async () => {
  await receiver.stop()
  await proxy?.close()
  await edge?.stop()
  await region?.stop()
})

function sdk(options: Partial<MeridianOptions> = {}) {
  const attempts: AttemptInfo[] = []
  const meridian = new Meridian(edge.keys.mer_acme ?? '', {
    baseUrl: edge.url,
    onAttempt: (a) => attempts.push(a),
    ...options,
  })
  return { meridian, attempts }
}

/** Payments of this merchant tagged with `order` in their metadata, as the region stored them. */
async function paymentsOfOrder(order: string): Promise<string[]> {
  const { rows } = await region.db.pool.query<{ id: string }>(
    `select id from payments where merchant_id = 'mer_acme' and metadata->>'order' = $1`,
    [order],
  )
  return rows.map((r) => r.id)
}

describe('the SDK against the edge and a real region', () => {
  it('a create whose answer is lost is retried with its key: one payment, replayed', async () => {
    const { meridian, attempts } = sdk({ baseUrl: proxy.url })
    proxy.dropNextAnswer()
    const payment = await meridian.payments.create({
      ...card(),
      amount: 4_321,
      metadata: { order: 'dropped-1' },
    })
    expect(proxy.dropped).toBe(1)
    expect(await paymentsOfOrder('dropped-1')).toEqual([payment.id])
    const [lost, retried] = attempts
    expect(lost?.error).toBeInstanceOf(ConnectionError)
    expect(retried?.idempotencyKey).toBe(lost?.idempotencyKey)
    // The region had carried out the first attempt: the retry is answered from its record.
    expect(payment.lastResponse).toMatchObject({ replayed: true, attempts: 2, status: 202 })
    await eventually(() => expect(region.authorizations(payment.id)).toBe(1))
  })

  it('a 429 is retried no sooner than its Retry-After, until every call is through', async () => {
    const { meridian, attempts } = sdk({ maxRetries: 10 })
    // Four windows' worth at once: a loaded machine may spread the burst over a few windows.
    const burst = rateLimitPerSec * 4
    const created = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        meridian.payments.create({ ...card(), amount: 100 + i }),
      ),
    )
    expect(new Set(created.map((p) => p.id)).size).toBe(burst)
    const refused = attempts.filter((a) => a.status === 429)
    expect(refused.length).toBeGreaterThan(0)
    for (const a of refused) {
      const retryAfterSec = a.error?.retryAfterSec ?? Number.NaN
      expect(retryAfterSec).toBeGreaterThanOrEqual(1)
      expect(a.retryInMs).toBeGreaterThanOrEqual(retryAfterSec * 1000)
      // Its retry (same key, next attempt) went out only after that wait: 2 ms for the two
      // clocks' rounding (Date.now is whole milliseconds) and a timer that fires a little early.
      const next = attempts.find(
        (b) => b.idempotencyKey === a.idempotencyKey && b.attempt === a.attempt + 1,
      )
      const answeredAtMs = a.sentAtMs + a.latencyMs
      expect(next?.sentAtMs).toBeGreaterThanOrEqual(
        Math.floor(answeredAtMs + (a.retryInMs ?? 0)) - 2,
      )
    }
  })

  it('list iterates every page: exactly the merchant payments, newest first', async () => {
    const { meridian, attempts } = sdk({ maxRetries: 6 })
    for (let i = 0; i < 7; i++) await meridian.payments.create({ ...card(), amount: 700 + i })
    const { rows } = await region.db.pool.query<{ id: string }>(
      `select id from payments where merchant_id = 'mer_acme' order by created_at desc, id desc`,
    )
    const listed: string[] = []
    for await (const p of meridian.payments.list({ limit: 4 })) listed.push(p.id)
    expect(listed).toEqual(rows.map((r) => r.id))
    expect(rows.length).toBeGreaterThan(8)
    const pages = attempts.filter((a) => a.method === 'GET' && a.status === 200)
    expect(pages).toHaveLength(Math.ceil(rows.length / 4))
  })

  it('constructEvent accepts a real delivery, refuses it stale or tampered, and across a roll', async () => {
    const { meridian } = sdk({ maxRetries: 6 })
    const endpoint = await meridian.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ['payment.captured'],
    })
    const first = endpoint.secret ?? ''
    expect(first).toMatch(/^whsec_/)
    const delivered = async () => {
      const payment = await meridian.payments.create({ ...card(), amount: 2_500 })
      await eventually(
        () => expect(receiver.of('payment.captured', payment.id)).toHaveLength(1),
        30_000,
      )
      const [delivery] = receiver.of('payment.captured', payment.id)
      if (!delivery) throw new Error('no delivery')
      return { payment, delivery }
    }
    const { payment, delivery } = await delivered()
    const event = await constructEvent(delivery.raw, delivery.signature, first)
    expect(event.type).toBe('payment.captured')
    expect(event.data.object).toMatchObject({ id: payment.id, status: 'captured', amount: 2_500 })

    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: unknown) => (e instanceof SignatureVerificationError ? e.reason : String(e)),
      )
    const tampered = delivery.raw.replace('"amount":2500', '"amount":2501')
    expect(tampered).not.toBe(delivery.raw)
    expect(await refusal(constructEvent(tampered, delivery.signature, first))).toBe('mismatch')
    const signedAtSec = Number(/t=(\d+)/.exec(delivery.signature)?.[1])
    const late = constructEvent(delivery.raw, delivery.signature, first, 300, signedAtSec + 301)
    expect(await refusal(late)).toBe('stale')
    expect(await refusal(constructEvent(delivery.raw, delivery.signature, 'whsec_other'))).toBe(
      'mismatch',
    )

    // Rolled: deliveries carry a v1 per valid secret, and either secret verifies them.
    const rolled = await meridian.webhookEndpoints.rollSecret(endpoint.id, { expires_in: 3_600 })
    const second = rolled.secret ?? ''
    const after = await delivered()
    expect(after.delivery.signature.match(/v1=/g)).toHaveLength(2)
    for (const secret of [first, second])
      await expect(
        constructEvent(after.delivery.raw, after.delivery.signature, secret),
      ).resolves.toMatchObject({ data: { object: { id: after.payment.id } } })
  }, 90_000)
})
