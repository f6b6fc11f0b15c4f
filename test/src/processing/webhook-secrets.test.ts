import { verifyWebhookSignature, webhookSecretOverlapSecMax } from '@meridian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { type Delivery, WebhookReceiver } from '../harness/receiver.ts'
import { createPayment, key } from './helpers.ts'

/**
 * Webhook signing secrets (issue 17 part 6): sealed wherever they are stored or shipped, shown to
 * the merchant only in the create and roll answers (and their idempotent replays), and rolled
 * with an overlap during which every delivery carries a signature for each valid secret.
 */
let region: ProcessingRegion
let receiver: WebhookReceiver
beforeAll(async () => {
  region = await startProcessingRegion('hook_secrets')
  receiver = await new WebhookReceiver().start()
})
afterAll(async () => {
  await receiver?.stop()
  await region?.stop()
})

const merchant = 'mer_hook_secrets'
const verifies = async (secret: string, d: Delivery) =>
  (await verifyWebhookSignature(secret, d.signature, d.raw)).ok

async function deliveryOfNewPayment(): Promise<Delivery> {
  const id = (await createPayment(region.client(merchant), { amount: 100 })).id
  let found: Delivery | undefined
  await eventually(() => {
    found = receiver.of('payment.authorized', id)[0]
    expect(found).toBeDefined()
  }, 20_000)
  return found as Delivery
}

/** Every place a secret could rest in the region: the view, the document, stored answers, events. */
async function storedText(): Promise<string> {
  const q = (sql: string) => region.db.pool.query<{ t: string }>(sql, [merchant])
  const parts = await Promise.all([
    q('select secrets::text as t from webhook_endpoints where merchant_id = $1'),
    q("select encode(doc, 'escape') as t from merchant_configs where merchant_id = $1"),
    q('select response_body::text as t from idempotency_keys where merchant_id = $1'),
    q('select envelope::text as t from outbox where merchant_id = $1'),
  ])
  return parts.flatMap((r) => r.rows.map((row) => row.t)).join('\n')
}

describe('webhook signing secrets', () => {
  let endpointId = ''
  let first = ''
  const createKey = key('we')

  it('are shown at creation, replayed by the same key, and stored only sealed', async () => {
    const client = region.client(merchant)
    const created = await client.post(
      '/v1/webhook_endpoints',
      { url: receiver.url, enabled_events: ['payment.authorized'] },
      createKey,
    )
    expect(created.status).toBe(201)
    first = created.json.secret
    endpointId = created.json.id
    expect(first).toMatch(/^whsec_[0-9a-f]{48}$/)
    receiver.secret = first
    const replay = await client.post(
      '/v1/webhook_endpoints',
      { url: receiver.url, enabled_events: ['payment.authorized'] },
      createKey,
    )
    expect(replay.json).toEqual(created.json)
    const stored = await storedText()
    expect(stored).toContain('wse1.')
    expect(stored).not.toContain(first)
    expect(stored).not.toContain(first.slice('whsec_'.length))
    const listed = await client.get('/v1/webhook_endpoints')
    expect(JSON.stringify(listed.json)).not.toContain('secret')
  })

  it('sign each delivery with the one secret before any roll', async () => {
    const d = await deliveryOfNewPayment()
    expect(d.signature.match(/v1=/g)).toHaveLength(1)
    expect(await verifies(first, d)).toBe(true)
  })

  it('roll: both secrets sign during the overlap, then only the new one', async () => {
    const client = region.client(merchant)
    const rollKey = key('roll')
    const before = Date.now()
    const rolled = await client.post(
      `/v1/webhook_endpoints/${endpointId}/roll_secret`,
      { expires_in: 4 },
      rollKey,
    )
    expect(rolled.status, JSON.stringify(rolled.json)).toBe(200)
    const second: string = rolled.json.secret
    expect(second).toMatch(/^whsec_/)
    expect(second).not.toBe(first)
    expect(rolled.json.id).toBe(endpointId)
    expect(rolled.json.previous_secrets_expire).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) + 4,
    )
    expect(rolled.json.previous_secrets_expire).toBeLessThanOrEqual(
      Math.ceil(Date.now() / 1000) + 4,
    )
    // A lost answer is not a lost secret: the same key replays the same new secret.
    const replay = await client.post(
      `/v1/webhook_endpoints/${endpointId}/roll_secret`,
      { expires_in: 4 },
      rollKey,
    )
    expect(replay.json).toEqual(rolled.json)
    expect(await storedText()).not.toContain(second)

    const during = await deliveryOfNewPayment()
    expect(during.signature.match(/v1=/g)).toHaveLength(2)
    expect(await verifies(second, during)).toBe(true)
    expect(await verifies(first, during)).toBe(true)

    await new Promise((r) => setTimeout(r, Math.max(0, before + 4_500 - Date.now())))
    const after = await deliveryOfNewPayment()
    expect(after.signature.match(/v1=/g)).toHaveLength(1)
    expect(await verifies(second, after)).toBe(true)
    expect(await verifies(first, after)).toBe(false)
  })

  it('refuse a bad roll with the error object and change nothing', async () => {
    const client = region.client(merchant)
    const doc = async () =>
      (
        await region.db.pool.query<{ t: string }>(
          "select encode(doc, 'hex') as t from merchant_configs where merchant_id = $1",
          [merchant],
        )
      ).rows[0]?.t
    const unchanged = await doc()
    for (const body of [
      { expires_in: -1 },
      { expires_in: 1.5 },
      { expires_in: webhookSecretOverlapSecMax + 1 },
      { expires_in: '60' },
      { expires: 60 },
    ]) {
      const res = await client.post(
        `/v1/webhook_endpoints/${endpointId}/roll_secret`,
        body,
        key('bad'),
      )
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.json.error.type).toBe('invalid_request_error')
    }
    const missing = await client.post('/v1/webhook_endpoints/we_nope/roll_secret', {}, key('nf'))
    expect(missing.status).toBe(404)
    const other = await region
      .client('mer_hook_secrets_other')
      .post(`/v1/webhook_endpoints/${endpointId}/roll_secret`, {}, key('other'))
    expect(other.status).toBe(404)
    expect(await doc()).toBe(unchanged)
  })
})
