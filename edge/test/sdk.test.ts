import { env, SELF } from 'cloudflare:test'
import { samplePlacement, sha256Hex, signWebhook } from '@meridian/core'
import {
  type AttemptInfo,
  ConnectionError,
  constructEvent,
  Meridian,
  SignatureVerificationError,
} from '@meridian/sdk'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * The SDK inside workerd, as a merchant's own Worker would run it: fetch and WebCrypto only.
 * Its calls go to the edge worker (SELF) in front of the real region processes of this pool.
 */
const apiKey = 'sk_test_sdkInWorkerd00001'

beforeAll(async () => {
  await env.API_KEYS.put(
    await sha256Hex(apiKey),
    JSON.stringify({ merchantId: 'mer_acme', mode: 'test', status: 'active' }),
  )
  await env.PLACEMENTS.put('mer_acme', JSON.stringify(samplePlacement('mer_acme')))
})

const base = 'https://edge.meridian.test'
const edgeFetch: typeof fetch = (input, init) => SELF.fetch(input, init)
let cards = 0
const card = () => ({ currency: 'usd', payment_method: `tok_workerd_${cards++}` }) as const

async function paymentsWithKey(key: string): Promise<number> {
  const counts = await Promise.all(
    ['us-east', 'eu-west', 'ap-south'].map(async (r) => {
      const res = await fetch(
        `${env.CONTROL_URL}/regions/${r}/payments?merchant=mer_acme&key=${encodeURIComponent(key)}`,
      )
      return ((await res.json()) as { count: number }).count
    }),
  )
  return counts.reduce((a, b) => a + b, 0)
}

describe('the SDK in workerd', () => {
  it('creates, retrieves and lists payments and reads the balance', async () => {
    const meridian = new Meridian(apiKey, { baseUrl: base, fetch: edgeFetch })
    const created = await meridian.payments.create({ ...card(), amount: 1_234 })
    expect(created).toMatchObject({ object: 'payment', amount: 1_234, status: 'pending' })
    expect(created.lastResponse.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/)
    expect(created.lastResponse.region).toBe('us-east')
    expect((await meridian.payments.retrieve(created.id)).id).toBe(created.id)
    const second = await meridian.payments.create({ ...card(), amount: 1_235 })
    // One per page: the iterator must follow the cursor from page to page.
    const listed: string[] = []
    for await (const p of meridian.payments.list({ limit: 1 })) listed.push(p.id)
    expect(listed).toEqual(expect.arrayContaining([second.id, created.id]))
    expect(new Set(listed).size).toBe(listed.length)
    expect((await meridian.balance.retrieve()).object).toBe('balance')
  })

  it('retries a create whose answer was lost with the same key: one payment', async () => {
    let lose = true
    // The request reaches the edge and the region acts on it; the answer never reaches us.
    const losing: typeof fetch = async (input, init) => {
      const response = await SELF.fetch(input, init)
      if (!lose) return response
      lose = false
      await response.body?.cancel()
      throw new TypeError('Network connection lost.')
    }
    const attempts: AttemptInfo[] = []
    const meridian = new Meridian(apiKey, {
      baseUrl: base,
      fetch: losing,
      onAttempt: (a) => attempts.push(a),
    })
    const created = await meridian.payments.create({ ...card(), amount: 2_468 })
    expect(attempts[0]?.error).toBeInstanceOf(ConnectionError)
    expect(created.lastResponse).toMatchObject({ replayed: true, attempts: 2 })
    expect(await paymentsWithKey(created.lastResponse.idempotencyKey ?? '')).toBe(1)
  })

  it('verifies webhook signatures with WebCrypto, during a roll too', async () => {
    const body = JSON.stringify({ id: 'evt_w', object: 'event', type: 'payment.created', data: {} })
    const header = await signWebhook(['whsec_new', 'whsec_old'], body)
    for (const secret of ['whsec_new', 'whsec_old'])
      expect((await constructEvent(body, header, secret)).id).toBe('evt_w')
    const refused = await constructEvent(`${body} `, header, 'whsec_new').catch((e) => e)
    expect(refused).toBeInstanceOf(SignatureVerificationError)
  })
})
