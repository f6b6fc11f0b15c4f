import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Secret } from '@meridian/core'
import {
  canConnect,
  edgeRuntimes,
  freePort,
  type LocalEdge,
  type ServiceProcess,
  spawnService,
  startEdge,
  startUpstashStandIn,
  type UpstashStandIn,
} from '@meridian/local'
import { keyRingFromText, newKeyRingText, regionSettings } from '@meridian/regions'
import { AuthenticationError, Meridian } from '@meridian/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDb, type TestDb } from '../harness/pg.ts'
import { createTestRedis, type TestRedis } from '../harness/redis.ts'

/**
 * One contract for every way the local topology runs the edge worker: `wrangler dev` (what
 * `pnpm start` runs) and one bare workerd (what bench:edge measures). Both must serve the same
 * worker, configured from wrangler.toml, with keys seeded, probes on demand and a clean stop.
 */
const secret = randomBytes(24).toString('hex')
/** No one listens here: the other regions are down for these tests. */
const nowhere = 'http://127.0.0.1:9'

let db: TestDb
let redis: TestRedis
let upstash: UpstashStandIn
let region: ServiceProcess
let regionUrl: string

beforeAll(async () => {
  db = await createTestDb('edge_launchers', 2)
  redis = await createTestRedis('edge_launchers')
  upstash = await startUpstashStandIn({ token: randomBytes(16).toString('hex') })
  const port = await freePort()
  regionUrl = `http://127.0.0.1:${port}`
  region = await spawnService({
    name: 'us-east api',
    entry: regionSettings.entryPoint,
    readyEvent: 'region.ready',
    env: regionSettings.toEnv({
      region: 'us-east',
      port,
      databaseUrl: db.url,
      databaseSchema: db.schema,
      poolSizeMax: 2,
      redisPrefix: redis.keys.prefix,
      kafkaBrokers: ['127.0.0.1:9'],
      edgeSecret: new Secret(secret),
      webhookSecretKeys: keyRingFromText(newKeyRingText()),
      roles: { api: true },
      logLevel: 'error',
    }),
  })
})
afterAll(async () => {
  await region?.stop()
  await upstash?.close()
  await redis?.close()
  await db?.close()
})

async function paymentCount(): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from payments')
  return Number(rows[0]?.n)
}

describe.each(edgeRuntimes)('the local edge on %s', (runtime) => {
  let edge: LocalEdge
  let port: number
  const logged: string[] = []

  beforeAll(async () => {
    port = await freePort()
    edge = await startEdge({
      runtime,
      port,
      stateDir: mkdtempSync(join(tmpdir(), `meridian-edge-${runtime}-`)),
      edgeSecret: secret,
      regionOrigins: { 'us-east': regionUrl, 'eu-west': nowhere, 'ap-south': nowhere },
      upstash,
      settings: { rateLimitPerSec: 1000 },
      log: (line) => logged.push(line),
      warnings: true,
    })
  })
  afterAll(() => edge?.stop())

  it('serves a merchant with its seeded key from its home region', async () => {
    const meridian = new Meridian(edge.keys.mer_acme ?? '', { baseUrl: edge.url })
    const card = { currency: 'usd', payment_method: 'tok_launcher' } as const
    const payment = await meridian.payments.create(
      { amount: 1250, ...card },
      { idempotencyKey: runtime },
    )
    expect(payment.lastResponse).toMatchObject({ status: 202, region: 'us-east' })
    const read = await meridian.payments.retrieve(payment.id)
    expect(read).toMatchObject({ id: payment.id, amount: 1250 })
  })

  it('refuses an unknown key with the error object and changes nothing', async () => {
    const before = await paymentCount()
    const stranger = new Meridian(`sk_test_${'x'.repeat(24)}`, { baseUrl: edge.url })
    const refused = await stranger.payments
      .create(
        { amount: 100, currency: 'usd', payment_method: 'tok_launcher' },
        { idempotencyKey: `${runtime}-unknown` },
      )
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(AuthenticationError)
    expect(refused).toMatchObject({ status: 401, code: 'api_key_invalid' })
    expect(await paymentCount()).toBe(before)
  })

  it('runs the scheduled health probe on demand', async () => {
    await edge.probe()
    const health = (await (await fetch(`${edge.url}/healthz`)).json()) as {
      regions: Record<string, { up: boolean }>
    }
    expect(health.regions['us-east']?.up).toBe(true)
    expect(health.regions['eu-west']?.up).toBe(false)
  })

  it("logs the worker's warnings as JSON lines, as the region services do", async () => {
    const markedDown = () =>
      logged
        .filter((line) => line.startsWith('[edge] {'))
        .map((line) => JSON.parse(line.slice('[edge] '.length)) as Record<string, unknown>)
        .find((l) => l.msg === 'region marked down' && l.region === 'eu-west')
    await expect.poll(markedDown).toMatchObject({ level: 'warn', kind: 'refused' })
  })

  it('stops: nothing listens on its port afterwards', async () => {
    await edge.stop()
    expect(await canConnect(port)).toBe(false)
  })
})
