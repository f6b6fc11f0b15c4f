import { randomBytes } from 'node:crypto'
import { decodeEvent, Secret } from '@meridian/core'
import { type ServiceProcess, spawnService } from '@meridian/local'
import { keyRingFromText, type Role, regionSettings } from '@meridian/regions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RegionClient } from '../harness/client.ts'
import { brokerFor, createTestTopic, readTopic, testBus } from '../harness/kafka.ts'
import { createTestDb, type TestDb } from '../harness/pg.ts'
import { createTestRedis, type TestRedis } from '../harness/redis.ts'
import { testWebhookSecretKeysText } from '../harness/region.ts'

let db: TestDb
let redis: TestRedis
const secret = randomBytes(24).toString('hex')

beforeAll(async () => {
  db = await createTestDb('durability', 2)
  redis = await createTestRedis('durability')
})
afterAll(async () => {
  await redis?.close()
  await db?.close()
})

async function regionProcess(topic: string, roles: readonly Role[]): Promise<ServiceProcess> {
  return spawnService({
    name: `us-east ${roles.join(',')}`,
    entry: regionSettings.entryPoint,
    readyEvent: 'region.ready',
    env: regionSettings.toEnv({
      region: 'us-east',
      databaseUrl: db.url,
      databaseSchema: db.schema,
      poolSizeMax: 4,
      redisPrefix: redis.keys.prefix,
      kafkaBrokers: [brokerFor('us-east')],
      eventsTopic: topic,
      edgeSecret: new Secret(secret),
      webhookSecretKeys: keyRingFromText(testWebhookSecretKeysText),
      roles: Object.fromEntries(roles.map((r) => [r, true])),
      logLevel: 'error',
    }),
  })
}

async function newTopic(label: string): Promise<string> {
  const admin = await testBus('us-east').admin()
  try {
    return await createTestTopic(admin, label, 4)
  } finally {
    await admin.close()
  }
}

/** Payment ids carried by payment.created events in the topic. */
async function createdIds(topic: string, countMin: number): Promise<string[]> {
  const messages = await readTopic('us-east', topic, countMin, 60_000)
  return messages.flatMap((m) => {
    const decoded = decodeEvent(m.value ?? '')
    if (!decoded.ok || decoded.event.type !== 'payment.created') return []
    return [String((decoded.event.payload.payment as { id: string }).id)]
  })
}

/** Post payments from `workers` loops until told to stop; returns the ids acknowledged with 202. */
function load(client: RegionClient, workers: number, label: string) {
  const acked: string[] = []
  let running = true
  let n = 0
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const key = `${label}-${n++}`
      try {
        const res = await client.post(
          '/v1/payments',
          { amount: 100, currency: 'usd', payment_method: `tok_${label}_${n}` },
          key,
        )
        if (res.status === 202) acked.push(res.json.id)
      } catch {
        // Connection refused or reset: the process is gone; nothing was acknowledged.
        await new Promise((r) => setTimeout(r, 20))
      }
    }
  })
  return {
    acked,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

describe('an acknowledged payment survives kill -9', () => {
  it('between commit and relay: the outbox holds it, a new relay publishes it', async () => {
    const topic = await newTopic('kill-outbox')
    const api = await regionProcess(topic, ['api'])
    const client = new RegionClient(String(api.ready.url), secret, 'mer_acme')
    const traffic = load(client, 8, 'outbox')
    while (traffic.acked.length < 150) await new Promise((r) => setTimeout(r, 20))
    await api.stop('SIGKILL')
    await traffic.stop()
    const { rows } = await db.pool.query<{ n: number }>(
      'select count(*)::int as n from outbox where sent_at is null',
    )
    expect(rows[0]?.n).toBeGreaterThanOrEqual(traffic.acked.length)

    const relay = await regionProcess(topic, ['relay'])
    try {
      const ids = new Set(await createdIds(topic, traffic.acked.length))
      const lost = traffic.acked.filter((id) => !ids.has(id))
      expect(lost).toEqual([])
    } finally {
      await relay.stop()
    }
  })

  it('mid-stream under load: after restart every acknowledged payment is in Kafka', async () => {
    const topic = await newTopic('kill-load')
    const first = await regionProcess(topic, ['api', 'relay'])
    const client = new RegionClient(String(first.ready.url), secret, 'mer_acme')
    const traffic = load(client, 8, 'load')
    while (traffic.acked.length < 300) await new Promise((r) => setTimeout(r, 20))
    await first.stop('SIGKILL')
    await traffic.stop()

    const second = await regionProcess(topic, ['api', 'relay'])
    try {
      const published = await createdIds(topic, traffic.acked.length)
      const ids = new Set(published)
      expect(traffic.acked.filter((id) => !ids.has(id))).toEqual([])
      // Duplicates are allowed (consumers dedupe by event id); losses are not.
      expect(published.length).toBeGreaterThanOrEqual(ids.size)
    } finally {
      await second.stop()
    }
  })
})
