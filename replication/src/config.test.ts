import { eventsPartitionsDefault, fleet, requiredNames, topicsFor } from '@meridian/core'
import { kafkaClients } from '@meridian/platform'
import { kafkaAuths, logLevels, regionDefaults } from '@meridian/regions/replication'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  fromEnv,
  parsePeers,
  type ReplicationConfig,
  replicationRoles,
  toEnv,
  variables,
} from './config.ts'

const env = {
  REGION: 'eu-west',
  KAFKA_BROKERS: 'k1:9092',
  PEER_KAFKA: 'us-east=a:9092,us-east=b:9092,ap-south=c:9092',
}

describe('replication configuration', () => {
  it('runs both halves unless REPLICATION_ROLES picks one', () => {
    expect(fromEnv(env).roles).toEqual({ replicator: true, applier: true })
    expect(fromEnv({ ...env, REPLICATION_ROLES: 'replicator' }).roles).toEqual({
      replicator: true,
      applier: false,
    })
    expect(fromEnv({ ...env, REPLICATION_ROLES: ' applier ' }).roles).toEqual({
      replicator: false,
      applier: true,
    })
  })

  it('refuses unknown or empty roles with the list of valid ones', () => {
    expect(() => fromEnv({ ...env, REPLICATION_ROLES: 'replicator,mirror' })).toThrow(
      /replicator and\/or applier/,
    )
    expect(() => fromEnv({ ...env, REPLICATION_ROLES: ',' })).toThrow(/REPLICATION_ROLES/)
  })

  it('reads PEER_KAFKA as written by the replication stack: one entry per broker', () => {
    expect(parsePeers(env.PEER_KAFKA)).toEqual({
      'us-east': ['a:9092', 'b:9092'],
      'ap-south': ['c:9092'],
    })
    expect(() => parsePeers('us-east')).toThrow(/not region=host:port/)
  })
})

describe('replication settings', () => {
  const item = fc.stringMatching(/^[A-Za-z0-9:._-]{1,20}$/)
  const settingsArb: fc.Arbitrary<ReplicationConfig> = fc
    .record({
      region: fc.constantFrom(...fleet.regions.map((r) => r.id)),
      databaseUrl: fc.string({ minLength: 1 }),
      kafkaBrokers: fc.array(item, { minLength: 1, maxLength: 3 }),
      kafkaClient: fc.constantFrom(...kafkaClients),
      kafkaAuth: fc.constantFrom(...kafkaAuths),
      eventsPartitions: fc.integer({ min: 1, max: 10_000 }),
      logLevel: fc.constantFrom(...logLevels),
      peers: fc
        .uniqueArray(
          fc.tuple(
            fc.constantFrom(...fleet.regions.map((r) => r.id)),
            fc.array(item, { minLength: 1, maxLength: 3 }),
          ),
          { selector: ([region]) => region, minLength: 1 },
        )
        .map((entries) => Object.fromEntries(entries)),
      topicNamespace: fc.string(),
      heartbeatIntervalMs: fc.integer({ min: 1 }),
      host: fc.string(),
      roles: fc
        .subarray([...replicationRoles], { minLength: 1 })
        .map((on) => ({ replicator: on.includes('replicator'), applier: on.includes('applier') })),
      control: fc.boolean(),
    })
    .chain((base) =>
      fc
        .tuple(
          fc.option(fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/), { nil: undefined }),
          fc.option(fc.integer({ min: 0, max: 65_535 }), { nil: undefined }),
        )
        .map(([databaseSchema, port]) => ({
          ...base,
          ...(databaseSchema === undefined ? {} : { databaseSchema }),
          ...(port === undefined ? {} : { port }),
        })),
    )

  it('reads back whatever it writes: fromEnv(toEnv(s)) is s', () => {
    fc.assert(
      fc.property(settingsArb, (settings) => {
        expect(fromEnv(toEnv(settings))).toEqual(settings)
      }),
      { numRuns: 100 },
    )
  }, 30_000)

  it('shares the events defaults with the regions, from @meridian/core', () => {
    const settings = fromEnv(env)
    expect(settings.eventsPartitions).toBe(eventsPartitionsDefault)
    expect(settings.eventsPartitions).toBe(regionDefaults.eventsPartitions)
    expect(topicsFor(settings.topicNamespace).events).toBe(regionDefaults.eventsTopic)
  })

  it('names the variable that is missing', () => {
    expect(requiredNames(variables).sort()).toEqual(['KAFKA_BROKERS', 'PEER_KAFKA', 'REGION'])
    expect(() => fromEnv({ ...env, PEER_KAFKA: undefined })).toThrow(
      /^replication configuration: .*PEER_KAFKA/,
    )
  })
})
