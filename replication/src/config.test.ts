import { describe, expect, it } from 'vitest'
import { parsePeers, replicationConfigFromEnv } from './config.ts'

const env = {
  REGION: 'eu-west',
  KAFKA_BROKERS: 'k1:9092',
  PEER_KAFKA: 'us-east=a:9092,us-east=b:9092,ap-south=c:9092',
}

describe('replication configuration', () => {
  it('runs both halves unless REPLICATION_ROLES picks one', () => {
    expect(replicationConfigFromEnv(env).roles).toEqual({ replicator: true, applier: true })
    expect(replicationConfigFromEnv({ ...env, REPLICATION_ROLES: 'replicator' }).roles).toEqual({
      replicator: true,
      applier: false,
    })
    expect(replicationConfigFromEnv({ ...env, REPLICATION_ROLES: ' applier ' }).roles).toEqual({
      replicator: false,
      applier: true,
    })
  })

  it('refuses unknown or empty roles with the list of valid ones', () => {
    expect(() =>
      replicationConfigFromEnv({ ...env, REPLICATION_ROLES: 'replicator,mirror' }),
    ).toThrow(/replicator and\/or applier/)
    expect(() => replicationConfigFromEnv({ ...env, REPLICATION_ROLES: ',' })).toThrow(
      /REPLICATION_ROLES/,
    )
  })

  it('reads PEER_KAFKA as written by the replication stack: one entry per broker', () => {
    expect(parsePeers(env.PEER_KAFKA)).toEqual({
      'us-east': ['a:9092', 'b:9092'],
      'ap-south': ['c:9092'],
    })
    expect(() => parsePeers('us-east')).toThrow(/not region=host:port/)
  })
})
