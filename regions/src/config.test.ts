import { randomBytes } from 'node:crypto'
import { defaultFraudPolicy, fleet, requiredNames, Secret } from '@meridian/core'
import { kafkaClients } from '@meridian/platform'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  fromEnv,
  kafkaAuths,
  logLevels,
  type RegionConfig,
  regionDefaults,
  roles,
  toEnv,
  variables,
} from './config.ts'
import { newKeyRingText } from './webhooks/secret-box.ts'

// fc.webUrl() costs ~10 ms a sample, enough to push a 100-run property past vitest's 5 s timeout
// on a loaded machine; the settings carry any text, so a plain origin shape is enough.
const origin = fc.stringMatching(/^https?:\/\/[a-z0-9-]{1,12}(\.[a-z]{2,5}){0,2}(:[1-9]\d{1,3})?$/)

/** Settings with every secret shown, so `toEqual` compares what a Secret hides too. */
export function revealed(value: unknown): unknown {
  if (value instanceof Secret) return { secret: revealed(value.reveal()) }
  if (Buffer.isBuffer(value)) return { bytes: value.toString('base64') }
  if (Array.isArray(value)) return value.map(revealed)
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealed(v)]))
  return value
}

const required = {
  REGION: 'us-east',
  KAFKA_BROKERS: 'k1:9092',
  EDGE_SECRET: 'x'.repeat(16),
  WEBHOOK_SECRET_KEYS: newKeyRingText('k1'),
}

/** Text that survives a comma-separated list: no commas, no spaces at either end, not empty. */
const item = fc.stringMatching(/^[A-Za-z0-9:/._-]{1,20}$/)
const optional = <T>(key: string, arb: fc.Arbitrary<T>) =>
  fc.option(arb, { nil: undefined }).map((v) => (v === undefined ? {} : { [key]: v }))

/** Any settings the environment can express. */
const settingsArb: fc.Arbitrary<RegionConfig> = fc
  .record({
    region: fc.constantFrom(...fleet.regions.map((r) => r.id)),
    databaseUrl: fc.string({ minLength: 1 }),
    kafkaBrokers: fc.array(item, { minLength: 1, maxLength: 3 }),
    kafkaClient: fc.constantFrom(...kafkaClients),
    kafkaAuth: fc.constantFrom(...kafkaAuths),
    eventsPartitions: fc.integer({ min: 1, max: 10_000 }),
    logLevel: fc.constantFrom(...logLevels),
    poolSizeMax: fc.integer({ min: 1, max: 100 }),
    redisUrl: fc.string(),
    redisPrefix: fc.string(),
    eventsTopic: fc.string(),
    host: fc.string(),
    port: fc.integer({ min: 0, max: 65_535 }),
    apiWorkers: fc.integer({ min: 1, max: 64 }),
    edgeSecret: fc.string({ minLength: 16 }).map((s) => new Secret(s)),
    roles: fc
      .subarray([...roles], { minLength: 1 })
      .map(
        (on) => Object.fromEntries(roles.map((r) => [r, on.includes(r)])) as RegionConfig['roles'],
      ),
    processorUrls: fc
      .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z-]{0,12}$/), item), {
        selector: ([name]) => name,
        maxLength: 4,
      })
      .map((entries) => Object.fromEntries(entries)),
    processorTimeoutMs: fc.integer({ min: 1, max: 600_000 }),
    webhookTimeScale: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }),
    webhookAllowLoopback: fc.boolean(),
    webhookSecretKeys: fc
      .uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/), { minLength: 1, maxLength: 3 })
      .map((ids) => ({ keys: ids.map((id) => ({ id, key: new Secret(randomBytes(32)) })) })),
    reconciler: fc.record({
      stuckAfterMs: fc.integer({ min: 1 }),
      authorizationTtlMs: fc.integer({ min: 1 }),
      unsentFailAfterMs: fc.integer({ min: 1 }),
      intervalMs: fc.integer({ min: 1 }),
    }),
    rate: fc.record({
      perSec: fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }),
      burst: fc.integer({ min: 1 }),
    }),
    fraud: fc
      .integer({ min: 1 })
      .map((n) => ({ ...defaultFraudPolicy, cardPaymentsPerWindowMax: n })),
    blockedCards: fc.array(item, { maxLength: 3 }),
  })
  .chain((base) =>
    fc
      .tuple(
        optional('databaseSchema', fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/)),
        optional('partitionMapFile', fc.string({ minLength: 1 })),
        optional('relayIdlePollMs', fc.integer({ min: 1 })),
        optional('metricsPort', fc.integer({ min: 0, max: 65_535 })),
        optional(
          'processorPins',
          fc.record({
            url: origin,
            token: fc.string({ minLength: 1 }).map((t) => new Secret(t)),
            prefix: fc.string(),
          }),
        ),
      )
      .map((parts) => Object.assign({}, base, ...parts) as RegionConfig),
  )

describe('region settings', () => {
  it('reads back whatever it writes: fromEnv(toEnv(s)) is s', () => {
    fc.assert(
      fc.property(settingsArb, (settings) => {
        expect(revealed(fromEnv(toEnv(settings)))).toEqual(revealed(settings))
      }),
      { numRuns: 100 },
    )
  }, 30_000)

  it('writes only what it is given; the rest is each default, from regionDefaults', () => {
    expect(toEnv({ region: 'eu-west', port: 8080, roles: { api: true } })).toEqual({
      REGION: 'eu-west',
      PORT: '8080',
      ROLES: 'api',
    })
    const settings = fromEnv(required)
    expect(settings).toMatchObject({
      poolSizeMax: regionDefaults.poolSizeMax,
      eventsTopic: 'events',
      eventsPartitions: regionDefaults.eventsPartitions,
      redisPrefix: 'meridian:us-east:',
      reconciler: regionDefaults.reconciler,
      rate: regionDefaults.rate,
      fraud: defaultFraudPolicy,
      kafkaAuth: 'none',
      apiWorkers: 1,
    })
    expect(Object.values(settings.roles).every(Boolean)).toBe(true)
    expect(settings.processorPins).toBeUndefined()
  })

  it('names the variable that is missing or wrong, never its value', () => {
    expect(requiredNames(variables).sort()).toEqual(Object.keys(required).sort())
    expect(() => fromEnv({ ...required, KAFKA_BROKERS: undefined })).toThrow(
      /^region configuration: .*KAFKA_BROKERS/,
    )
    expect(() => fromEnv({ ...required, PG_POOL_SIZE_MAX: 'many' })).toThrow(/PG_POOL_SIZE_MAX/)
    expect(() => fromEnv({ ...required, KAFKA_AUTH: 'scram' })).toThrow(/KAFKA_AUTH/)
    expect(() => fromEnv({ ...required, ROLES: 'api,cron' })).toThrow(/unknown role\(s\) cron/)
    const secret = 'sealing-key-that-must-not-print'
    expect(() => fromEnv({ ...required, WEBHOOK_SECRET_KEYS: secret })).toThrow(
      /WEBHOOK_SECRET_KEYS: entry 1/,
    )
    expect(() => fromEnv({ ...required, WEBHOOK_SECRET_KEYS: secret })).not.toThrow(secret)
    expect(() => fromEnv({ ...required, UPSTASH_REDIS_REST_URL: 'https://pins.example' })).toThrow(
      /together/,
    )
  })
})
