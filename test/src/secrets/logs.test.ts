import { randomBytes } from 'node:crypto'
import type { Gateway } from '@meridian/local'
import { AuthenticationError, constructEvent, Meridian } from '@meridian/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { WebhookReceiver } from '../harness/receiver.ts'

/**
 * No secret, key or token in any log (issue 17 part 6): the whole local gateway as `pnpm start`
 * runs it (Kafka, every region service, replication, simulators, the edge under wrangler dev),
 * every service at `info`, a merchant session through the edge, then every line it printed is
 * searched for every credential the run knows of.
 */
const merchant = 'mer_acme'
const lines: string[] = []
let gateway: Gateway
let receiver: WebhookReceiver
/** Every credential this run handled: none of them may appear in a line. */
const credentials = new Map<string, string>()

beforeAll(async () => {
  // Ports apart from a `pnpm start` that may be running on this machine (read at import).
  process.env.MERIDIAN_PORT_BASE = '14600'
  const { freePort, startGateway } = await import('@meridian/local')
  gateway = await startGateway({
    log: (line) => lines.push(line),
    verbose: true,
    edgeRuntime: 'wrangler-dev',
    edgePort: await freePort(),
    prefix: 'logs_test',
  })
  receiver = await new WebhookReceiver().start()
}, 300_000)
afterAll(async () => {
  await receiver?.stop()
  await gateway?.stop()
}, 120_000)

/** The merchant's client, as a merchant calls the gateway (through the edge, Bearer key). */
const sdk = (key = gateway.edge.keys[merchant] ?? '') =>
  new Meridian(key, { baseUrl: gateway.edge.url })

/** Basic auth (the key as user name), which the SDK does not speak: by hand. */
async function createWithBasicAuth(body: Record<string, unknown>): Promise<string> {
  const key = gateway.edge.keys[merchant] ?? ''
  const res = await fetch(`${gateway.edge.url}/v1/payments`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
      'content-type': 'application/json',
      'idempotency-key': randomBytes(8).toString('hex'),
    },
    body: JSON.stringify(body),
  })
  const json = (await res.json()) as Record<string, unknown>
  expect(res.status, JSON.stringify(json)).toBe(202)
  return String(json.id)
}

async function deliveredPayment(basic = false): Promise<string> {
  const body = { amount: 1234, currency: 'usd', payment_method: 'pm_card_visa' } as const
  const id = basic ? await createWithBasicAuth(body) : (await sdk().payments.create(body)).id
  await eventually(() => expect(receiver.of('payment.captured', id)).toHaveLength(1), 60_000)
  return id
}

describe('logs of a full run', () => {
  it('hold no secret, key or token', async () => {
    const key = gateway.edge.keys[merchant] ?? ''
    credentials.set('API key', key)
    for (const [m, k] of Object.entries(gateway.edge.keys)) credentials.set(`API key of ${m}`, k)
    credentials.set('edge signing secret', gateway.secrets.edgeSecret)
    credentials.set('Upstash token', gateway.upstash.token)
    for (const entry of gateway.secrets.webhookSecretKeys.split(','))
      credentials.set('webhook key-encryption key', entry.slice(entry.indexOf(':') + 1))

    const endpoint = await sdk().webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ['payment.captured'],
    })
    expect(endpoint.lastResponse.status).toBe(201)
    const first = String(endpoint.secret)
    credentials.set('webhook secret', first)
    receiver.secret = first
    await deliveredPayment()
    await deliveredPayment(true)

    const rolled = await sdk().webhookEndpoints.rollSecret(endpoint.id, { expires_in: 3600 })
    expect(rolled.lastResponse.status).toBe(200)
    const second = String(rolled.secret)
    credentials.set('rolled webhook secret', second)
    const id = await deliveredPayment()
    const delivery = receiver.of('payment.captured', id)[0]
    if (!delivery) throw new Error(`no delivery for ${id}`)
    const event = await constructEvent(delivery.raw, delivery.signature, second)
    expect(event.data.object.id).toBe(id)

    // Wrong credentials are credentials too (a typo of a real key is most of a real key).
    const wrong = `${key.slice(0, -4)}XXXX`
    credentials.set('mistyped API key', wrong)
    await expect(sdk(wrong).balance.retrieve()).rejects.toBeInstanceOf(AuthenticationError)

    await gateway.stop()
    // The capture is real: services logged at info, and from every kind of process.
    const text = lines.join('\n')
    expect(lines.length).toBeGreaterThan(50)
    for (const event of ['region.ready', 'relay', 'replication'])
      expect(text, `no line mentions ${event}`).toContain(event)
    for (const [what, value] of credentials) {
      expect(value.length, what).toBeGreaterThanOrEqual(16)
      const hits = lines.filter((l) => l.includes(value))
      expect(hits, `${what} appears in the logs`).toEqual([])
    }
  }, 300_000)
})
