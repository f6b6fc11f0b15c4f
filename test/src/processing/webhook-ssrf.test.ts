import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { WebhookReceiver } from '../harness/receiver.ts'
import { startTestRegion, type TestRegion } from '../harness/region.ts'
import { createPayment, key } from './helpers.ts'

/**
 * Webhook SSRF (issue 17 part 3): a merchant's endpoint URL must never make the region POST into
 * its own network, neither when the endpoint is created nor at delivery, whatever the URL's host
 * resolves to by then. The harness opts in to loopback (receivers listen on 127.0.0.1), as
 * `pnpm start` does; one region below runs without the opt-in, as the cloud stacks do.
 */
const refusedEverywhere = [
  'http://10.0.0.1/hooks',
  'http://172.16.5.4/hooks',
  'http://192.168.1.1./hooks',
  'http://169.254.169.254/latest/meta-data/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://[fd00:ec2::254]/',
  'http://100.64.0.1/hooks',
  'http://[fc00::1]/hooks',
  'http://[fe80::1]/hooks',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:10.0.0.1]/',
  'http://224.0.0.1/hooks',
  'http://0.0.0.0/hooks',
  'http://0/hooks',
  'http://[::]/hooks',
  'http://255.255.255.255/hooks',
  'http://0xa9.0xfe.0xa9.0xfe/',
  'http://2852039166/',
  'http://user:pw@example.com/hooks',
  'http://example.com@10.0.0.1/hooks',
]
const loopback = [
  'http://127.0.0.1/hooks',
  'http://2130706433/',
  'http://0x7f.1/',
  'http://017700000001/',
  'http://localhost/hooks',
  'http://localhost./hooks',
  'http://[::1]/hooks',
  'http://[::ffff:127.0.0.1]/hooks',
]

async function expectRefused(region: TestRegion, merchant: string, url: string) {
  const client = region.client(merchant)
  const res = await client.post('/v1/webhook_endpoints', { url }, key('we'))
  expect({
    url,
    status: res.status,
    error: res.json.error?.code,
    param: res.json.error?.param,
  }).toEqual({
    url,
    status: 400,
    error: 'parameter_invalid',
    param: 'url',
  })
  expect(res.json.error.message).toMatch(/url /)
}

describe('webhook endpoints without the loopback opt-in (as in the cloud)', () => {
  let region: TestRegion
  beforeAll(async () => {
    region = await startTestRegion('hooks_ssrf_cloud', 'us-east', { webhookAllowLoopback: false })
  })
  afterAll(async () => {
    await region?.stop()
  })

  it('refuses every forbidden class and spelling at create, and stores nothing', async () => {
    for (const url of [...refusedEverywhere, ...loopback])
      await expectRefused(region, 'mer_ssrf_cloud', url)
    const { rows } = await region.db.pool.query(
      'select count(*)::int as n from webhook_endpoints where merchant_id = $1',
      ['mer_ssrf_cloud'],
    )
    expect(rows[0].n).toBe(0)
    const good = await region
      .client('mer_ssrf_cloud')
      .post('/v1/webhook_endpoints', { url: 'https://hooks.example.com/x' }, key('we'))
    expect(good.status).toBe(201)
  })
})

describe('webhook deliveries check the address they connect to', () => {
  let region: ProcessingRegion
  beforeAll(async () => {
    region = await startProcessingRegion('hooks_ssrf', { overrides: { webhookTimeScale: 0.00002 } })
  })
  afterAll(async () => {
    await region?.stop()
  })

  it('requires https for live keys (the mode the edge signs), not for test keys', async () => {
    const live = region.client('mer_ssrf_live').withMode('live')
    const plain = await live.post(
      '/v1/webhook_endpoints',
      { url: 'http://hooks.example.com/x' },
      key('we'),
    )
    expect(plain.status).toBe(400)
    expect(plain.json.error).toMatchObject({ code: 'parameter_invalid', param: 'url' })
    expect(plain.json.error.message).toMatch(/https in live mode/)
    const tls = await live.post(
      '/v1/webhook_endpoints',
      { url: 'https://hooks.example.com/x' },
      key('we2'),
    )
    expect(tls.status).toBe(201)
    const test = region.client('mer_ssrf_live').withMode('test')
    const testPlain = await test.post(
      '/v1/webhook_endpoints',
      { url: 'http://hooks.example.com/y' },
      key('we3'),
    )
    expect(testPlain.status).toBe(201)
  })

  it('refuses non-loopback classes at create even with the loopback opt-in', async () => {
    for (const url of refusedEverywhere) await expectRefused(region, 'mer_ssrf_local', url)
  })

  it('does not send to an endpoint whose address became forbidden after create', async () => {
    // The receiver listens on every interface, so 0.0.0.0 (which Linux connects to locally) reaches it.
    const receiver = await new WebhookReceiver().start('0.0.0.0')
    const port = new URL(receiver.url).port
    const client = region.client('mer_ssrf_rebind')
    const endpoint = await client.post(
      '/v1/webhook_endpoints',
      { url: receiver.url, enabled_events: ['payment.authorized'] },
      key('we'),
    )
    expect(endpoint.status).toBe(201)
    // As if the name had been re-pointed (DNS rebinding) or the row edited after the create check.
    await region.db.pool.query('update webhook_endpoints set url = $2 where id = $1', [
      endpoint.json.id,
      `http://0.0.0.0:${port}/hooks`,
    ])
    await createPayment(client, { amount: 100 })
    await eventually(async () => {
      const { rows } = await region.db.pool.query(
        'select last_error from webhook_deliveries where endpoint_id = $1',
        [endpoint.json.id],
      )
      expect(rows[0]?.last_error).toMatch(/refused.*unspecified/)
    }, 20_000)
    expect(receiver.hits).toBe(0)
    await receiver.stop()
  })

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    const target = await new WebhookReceiver().start()
    const redirector = await new WebhookReceiver().start()
    redirector.status = () => 302
    redirector.headers = { location: target.url }
    const client = region.client('mer_ssrf_redirect')
    const endpoint = await client.post(
      '/v1/webhook_endpoints',
      { url: redirector.url, enabled_events: ['payment.authorized'] },
      key('we'),
    )
    expect(endpoint.status).toBe(201)
    await createPayment(client, { amount: 100 })
    await eventually(async () => {
      const { rows } = await region.db.pool.query(
        'select last_error from webhook_deliveries where endpoint_id = $1',
        [endpoint.json.id],
      )
      expect(rows[0]?.last_error).toMatch(/302/)
    }, 20_000)
    expect(redirector.hits).toBeGreaterThan(0)
    expect(target.hits).toBe(0)
    await target.stop()
    await redirector.stop()
  })
})
