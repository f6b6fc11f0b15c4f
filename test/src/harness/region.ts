import { randomBytes } from 'node:crypto'
import { defaultFraudPolicy, Secret } from '@meridian/core'
import { type BusAdmin, kafkaClientFromEnv, quietLogger, redisUrl } from '@meridian/platform'
import {
  keyRingFromText,
  newKeyRingText,
  type RegionConfig,
  type RunningRegion,
  regionDefaults,
  startRegion,
} from '@meridian/regions'
import { inject } from 'vitest'
import { RegionClient } from './client.ts'
import { brokerFor, type RegionName, testBus } from './kafka.ts'
import { uniqueName } from './names.ts'
import { createTestDb, type TestDb } from './pg.ts'
import { createTestRedis, type TestRedis } from './redis.ts'

export interface TestRegion {
  readonly config: RegionConfig
  readonly running: RunningRegion
  readonly db: TestDb
  readonly redis: TestRedis
  readonly admin: BusAdmin
  readonly secret: string
  client(merchantId?: string): RegionClient
  /** Messages now in the region's events topic, summed over partitions. */
  topicSize(): Promise<number>
  stop(): Promise<void>
}

/**
 * One key ring for every region this test process starts: sealed webhook secrets replicate, so
 * regions that exchange events must open each other's (as a fleet shares its keys).
 */
export const testWebhookSecretKeysText = newKeyRingText('test')

export type TestRegionOverrides = Partial<
  Omit<RegionConfig, 'region' | 'databaseUrl' | 'databaseSchema'>
>

/**
 * A real region in this process: its own schema, key prefix and topic on the suite's broker for
 * `region`, listening on a free port. Everything it touches is real; nothing is mocked.
 */
export async function startTestRegion(
  label: string,
  region: RegionName = 'us-east',
  overrides: TestRegionOverrides = {},
  options: { ownDatabase?: boolean } = {},
): Promise<TestRegion> {
  const db = await createTestDb(`${label}_${region}`, 1, options)
  const redis = await createTestRedis(label)
  const secret = randomBytes(24).toString('hex')
  const config: RegionConfig = {
    region,
    databaseUrl: db.url,
    databaseSchema: db.schema,
    poolSizeMax: 5,
    redisUrl: redisUrl(),
    redisPrefix: redis.keys.prefix,
    kafkaBrokers: [brokerFor(region)],
    // KAFKA_CLIENT picks the bus client for the whole suite, as it does for a deployed region.
    kafkaClient: kafkaClientFromEnv(),
    kafkaAuth: regionDefaults.kafkaAuth,
    logLevel: regionDefaults.logLevel,
    eventsTopic: uniqueName(`${label}_events`).replaceAll('_', '-'),
    eventsPartitions: 4,
    host: '127.0.0.1',
    port: 0,
    apiWorkers: 1,
    edgeSecret: new Secret(secret),
    // The fast-path tests need only these; processing tests turn on workers and the rest.
    roles: { api: true, relay: true, workers: false, webhooks: false, reconciler: false },
    processorUrls: {},
    processorTimeoutMs: regionDefaults.processorTimeoutMs,
    webhookTimeScale: 1,
    // Test receivers listen on 127.0.0.1, as in local development.
    webhookAllowLoopback: true,
    webhookSecretKeys: keyRingFromText(testWebhookSecretKeysText),
    reconciler: regionDefaults.reconciler,
    rate: regionDefaults.rate,
    fraud: defaultFraudPolicy,
    blockedCards: [],
    processorPins: testPins(label),
    ...overrides,
  }
  const running = await startRegion(config, quietLogger)
  const admin = await testBus(region).admin()
  const url = running.url
  if (!url) throw new Error('test region runs without the api role')
  return {
    config,
    running,
    db,
    redis,
    admin,
    secret,
    client: (merchantId = 'mer_acme') => new RegionClient(url, secret, merchantId, region),
    async topicSize() {
      const ends = await admin.endOffsets(config.eventsTopic)
      return [...ends.values()].reduce((s, v) => s + Number(v), 0)
    },
    async stop() {
      await running.stop()
      await admin.close()
      await redis.close()
      await db.close()
    },
  }
}

/**
 * The suite's Upstash stand-in: regions started under one label (a test fleet's three) share a
 * register, other labels and earlier runs do not (payment ids derive from requests).
 */
export function testPins(label: string): NonNullable<RegionConfig['processorPins']> {
  const upstash = inject('upstash')
  return {
    url: upstash.url,
    token: new Secret(upstash.token),
    prefix: `test:${upstash.run}:${label}:pins:`,
  }
}

/** Row counts of every table a request might write: "nothing changed" means these stay put. */
export async function tableCounts(db: TestDb): Promise<Record<string, number>> {
  const { rows } = await db.pool.query<{
    payments: string
    outbox: string
    idempotency_keys: string
    refunds: string
  }>(
    `select (select count(*) from payments) as payments, (select count(*) from outbox) as outbox,
            (select count(*) from idempotency_keys) as idempotency_keys, (select count(*) from refunds) as refunds`,
  )
  const row = rows[0]
  if (!row) throw new Error('no counts')
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]))
}
