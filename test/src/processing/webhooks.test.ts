import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { WebhookReceiver } from '../harness/receiver.ts'
import { createPayment, key, statusIs, waitFor } from './helpers.ts'

let region: ProcessingRegion
beforeAll(async () => {
  // Three days of retries compressed into about five seconds.
  region = await startProcessingRegion('webhooks', { overrides: { webhookTimeScale: 0.00002 } })
})
afterAll(async () => {
  await region?.stop()
})

describe('webhook deliveries', () => {
  it('retry a failing endpoint with backoff, then succeed, at least once per event', async () => {
    const receiver = await new WebhookReceiver().start()
    let calls = 0
    receiver.status = () => (++calls <= 3 ? 500 : 200)
    const client = region.client('mer_hooks_retry')
    const endpoint = await client.post(
      '/v1/webhook_endpoints',
      { url: receiver.url, enabled_events: ['payment.captured'] },
      key('we'),
    )
    receiver.secret = endpoint.json.secret
    const id = (await createPayment(client, { amount: 100 })).id
    await waitFor(client, id, statusIs('captured'))
    await eventually(() => expect(receiver.of('payment.captured', id)).toHaveLength(1), 20_000)
    expect(receiver.deliveries.every((d) => d.verdict.ok)).toBe(true)
    // Only the subscribed type arrives.
    expect(receiver.deliveries.every((d) => d.body.type === 'payment.captured')).toBe(true)
    // The receiver has the 200 before the sender records it: wait for the record.
    await eventually(async () => {
      const { rows } = await region.db.pool.query(
        'select attempts, status from webhook_deliveries where event_id = $1',
        [receiver.deliveries[0]?.eventId],
      )
      expect(rows).toEqual([{ attempts: 4, status: 'delivered' }])
    }, 10_000)
    await receiver.stop()
  })

  it('dead-letter after the retry window, and deliver again on replay', async () => {
    const receiver = await new WebhookReceiver().start()
    receiver.status = () => 503
    const client = region.client('mer_hooks_dead')
    const endpoint = await client.post(
      '/v1/webhook_endpoints',
      { url: receiver.url, enabled_events: ['payment.authorized'] },
      key('we'),
    )
    receiver.secret = endpoint.json.secret
    const id = (await createPayment(client, { amount: 100 })).id
    await eventually(async () => {
      const { rows } = await region.db.pool.query(
        'select d.attempts from webhook_dead_letters d join webhook_deliveries w on w.id = d.delivery_id where w.merchant_id = $1',
        ['mer_hooks_dead'],
      )
      expect(rows).toHaveLength(1)
      expect(rows[0].attempts).toBeGreaterThan(2)
    }, 30_000)
    expect(receiver.deliveries).toHaveLength(0)
    // Counted where it happens, just after the row is written (the WebhookDeadLetters alert).
    await eventually(async () => {
      const metrics = await (await fetch(`${region.running.url}/metrics`)).text()
      expect(metrics).toMatch(/^meridian_webhook_dead_letters_total\{region="us-east"\} 1$/m)
      expect(metrics).toMatch(/^meridian_webhook_backlog\{region="us-east"\} \d+$/m)
    }, 5_000)
    receiver.status = () => 200
    const replay = await client.post(
      `/v1/webhook_endpoints/${endpoint.json.id}/replay`,
      {},
      key('replay'),
    )
    expect(replay.status).toBe(202)
    expect(replay.json).toMatchObject({ object: 'webhook_replay', requeued: 1 })
    await eventually(() => expect(receiver.of('payment.authorized', id)).toHaveLength(1), 20_000)
    expect(receiver.deliveries[0]?.verdict.ok).toBe(true)
    const other = await region
      .client('mer_someone_else')
      .post(`/v1/webhook_endpoints/${endpoint.json.id}/replay`, {}, key('x'))
    expect(other.status).toBe(404)
    await receiver.stop()
  })

  it('validates endpoint registration and lists endpoints without their secrets', async () => {
    const client = region.client('mer_hooks_list')
    const bad = await client.post('/v1/webhook_endpoints', { url: 'ftp://example.com' }, key('bad'))
    expect(bad.status).toBe(400)
    const goodKey = key('good')
    const created = await client.post(
      '/v1/webhook_endpoints',
      { url: 'https://merchant.example/hooks' },
      goodKey,
    )
    expect(created.status).toBe(201)
    // A retry with the same key replays the creation instead of making a second endpoint.
    const replay = await client.post(
      '/v1/webhook_endpoints',
      { url: 'https://merchant.example/hooks' },
      goodKey,
    )
    expect(replay.status).toBe(201)
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true')
    expect(replay.json.id).toBe(created.json.id)
    const list = await client.get('/v1/webhook_endpoints')
    expect(list.json.data.map((e: { id: string }) => e.id)).toEqual([created.json.id])
    expect(JSON.stringify(list.json)).not.toContain('whsec_')
  })
})
