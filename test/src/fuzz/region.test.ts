import { edgeSignatureHeader, signEdgeRequest } from '@meridian/core'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { startTestRegion, type TestRegion } from '../harness/region.ts'
import { type FuzzRequest, requests } from './requests.ts'
import { fuzzRuns, fuzzSeed, type Verdict, verdictOf } from './verdict.ts'

/**
 * The public API fuzzed against a real region (real Postgres, Redis, Kafka) behind the edge
 * signature: no answer is a 5xx, every 4xx carries the error object and changes nothing, and
 * every string the region accepts comes back exactly as it was sent.
 */
let region: TestRegion
const merchantId = 'mer_fuzz'
const known: Record<string, string> = {}

async function send(r: FuzzRequest): Promise<Verdict> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (r.idempotencyKey !== undefined) headers['Idempotency-Key'] = r.idempotencyKey
  headers[edgeSignatureHeader] = await signEdgeRequest(region.secret, {
    method: r.method,
    path: r.path,
    merchantId,
    epoch: 1,
    region: 'us-east',
    body: r.body,
  })
  const response = await fetch(`${region.running.url}${r.path}`, {
    method: r.method,
    headers,
    ...(r.body.byteLength > 0 ? { body: r.body } : {}),
  })
  return verdictOf(response)
}

/** Rows of every table a request can write: a refused request leaves all of them as they were. */
async function snapshot(): Promise<string> {
  const { rows } = await region.db.pool.query<{ table_name: string }>(
    `select table_name from information_schema.tables where table_schema = current_schema()
     and table_type = 'BASE TABLE' and table_name not like 'schema_%' order by table_name`,
  )
  const counts = await region.db.pool.query(
    `select ${rows.map((r) => `(select count(*) from "${r.table_name}") as "${r.table_name}"`).join(', ')}`,
  )
  return JSON.stringify(counts.rows[0])
}

beforeAll(async () => {
  region = await startTestRegion('fuzz', 'us-east', {
    // The fuzzer sends thousands of requests as one merchant: the rate limit is not under test.
    rate: { perSec: 1_000_000, burst: 1_000_000 },
  })
  const client = region.client(merchantId)
  const payment = await client.post(
    '/v1/payments',
    { amount: 500, currency: 'usd', payment_method: 'pm_card_visa' },
    'fuzz-seed-payment',
  )
  expect(payment.status).toBe(202)
  known['/v1/payments/{id}'] = payment.json.id
  const endpoint = await client.post(
    '/v1/webhook_endpoints',
    { url: 'https://hooks.example.com/fuzz' },
    'fuzz-seed-endpoint',
  )
  expect(endpoint.status).toBe(201)
  known['/v1/webhook_endpoints/{id}'] = endpoint.json.id
})
afterAll(async () => {
  await region?.stop()
})

const idFor = (template: string) =>
  template.startsWith('/v1/webhook_endpoints')
    ? (known['/v1/webhook_endpoints/{id}'] ?? 'we_x')
    : (known['/v1/payments/{id}'] ?? 'pay_x')

describe('fuzzing a real region behind the edge signature', () => {
  it(`answers ${fuzzRuns.region} generated requests without a 5xx; refusals change nothing; accepted text is stored as sent`, async () => {
    const tally = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(requests(idFor), async (r) => {
        const before = await snapshot()
        const verdict = await send(r)
        tally.set(String(verdict.status), (tally.get(String(verdict.status)) ?? 0) + 1)
        expect(verdict.status, `${r.label}: ${verdict.text.slice(0, 300)}`).toBeLessThan(500)
        if (verdict.status >= 400) {
          // A HEAD answer has no body, by HTTP's definition.
          if (r.method !== 'HEAD')
            expect(verdict.error, `${r.label}: ${verdict.text.slice(0, 300)}`).toBeDefined()
          expect(await snapshot(), `${r.label} changed state`).toBe(before)
          return
        }
        if (r.operation === 'post /v1/payments') await storedAsSent(r, verdict)
      }),
      { numRuns: fuzzRuns.region, ...fuzzSeed() },
    )
    process.stdout.write(`[fuzz] region statuses: ${JSON.stringify(Object.fromEntries(tally))}\n`)
    // Refusals wrote no outbox rows; every row written reached Kafka, nothing else did.
    await eventually(async () => {
      const { rows } = await region.db.pool.query<{ n: string }>('select count(*) as n from outbox')
      expect(await region.topicSize()).toBe(Number(rows[0]?.n))
    }, 30_000)
  })
})

async function storedAsSent(r: FuzzRequest, verdict: Verdict): Promise<void> {
  const sent = JSON.parse(new TextDecoder().decode(r.body)) as {
    description?: string
    metadata?: Record<string, string>
  }
  const got = await region.client(merchantId).get(`/v1/payments/${verdict.json.id}`)
  expect(got.json.description, r.label).toBe(sent.description ?? null)
  expect(got.json.metadata, r.label).toEqual(sent.metadata ?? {})
}
