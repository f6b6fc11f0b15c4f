/**
 * The replication process's settings: every environment variable it reads, named once in
 * `variables` (the ones every region process shares come from @meridian/regions), read by
 * `fromEnv` and written by `toEnv`, with which infra/local and infra/cloud build its environment.
 * `replicationDefaults` holds what an unset variable means.
 */

import { fileURLToPath } from 'node:url'
import {
  type Env,
  type KeyOf,
  readEnv,
  SettingsError,
  variables as variablesFor,
  writeEnv,
} from '@meridian/core'
import type { KafkaAuth, KafkaClient, LogLevel } from '@meridian/platform'
import {
  type ProcessSettings,
  processSettingsOf,
  processVariables,
} from '@meridian/regions/replication'
import { z } from 'zod'

/** The file a replication process runs (`node --import tsx <entryPoint>`). */
export const entryPoint = fileURLToPath(new URL('./main.ts', import.meta.url))

/**
 * A replication process's settings. `startReplication` takes them from tests too, so what a test
 * may leave out is optional (the Kafka bus then reads its own defaults).
 */
export interface ReplicationConfig
  extends Omit<ProcessSettings, 'kafkaClient' | 'kafkaAuth' | 'logLevel'> {
  readonly kafkaClient?: KafkaClient
  readonly kafkaAuth?: KafkaAuth
  readonly logLevel?: LogLevel
  /** Every other region and its cluster: region → brokers. */
  readonly peers: Readonly<Record<string, readonly string[]>>
  /** Put in front of topic names (`topicsFor` in @meridian/core); tests share brokers so. */
  readonly topicNamespace: string
  readonly heartbeatIntervalMs: number
  /** Where /replication/status and /metrics answer; undefined: not served. */
  readonly port?: number
  /** Default 127.0.0.1. */
  readonly host?: string
  /**
   * Which halves run here. Locally one process runs both; in the cloud the replicators (which hold
   * read access to the other regions' clusters) run apart from the applier (which writes Postgres).
   */
  readonly roles?: Readonly<Record<ReplicationRole, boolean>>
  /**
   * Serve POST /replication/links/:origin/{pause,resume} on the status port: how drills cut a
   * link. Off unless REPLICATION_CONTROL=1; never set in the cloud.
   */
  readonly control?: boolean
}

/** The settings a replication process is told, as infra builds them: left out, not written. */
export type ReplicationSettingsInput = Partial<Omit<ReplicationConfig, 'roles'>> & {
  readonly roles?: Readonly<Partial<Record<ReplicationRole, boolean>>>
}

export const replicationRoles = ['replicator', 'applier'] as const
export type ReplicationRole = (typeof replicationRoles)[number]

/** Every default of a replication process, once. */
export const replicationDefaults = {
  topicNamespace: '',
  heartbeatIntervalMs: 1000,
  host: '127.0.0.1',
  roles: replicationRoles,
  control: false,
  /** Connections the applier and the pruner hold at most; not a variable. */
  poolSizeMax: 8,
} as const

export function parseReplicationRoles(text: string): Record<ReplicationRole, boolean> {
  const listed = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
  const unknown = listed.filter((r) => !(replicationRoles as readonly string[]).includes(r))
  if (unknown.length > 0 || listed.length === 0)
    throw new SettingsError(
      `REPLICATION_ROLES lists ${replicationRoles.join(' and/or ')}, not "${text}"`,
    )
  return { replicator: listed.includes('replicator'), applier: listed.includes('applier') }
}

export function parsePeers(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [region, broker] = part.split('=')
    if (!region || !broker)
      throw new SettingsError(`PEER_KAFKA entry "${part}" is not region=host:port`)
    out[region.trim()] = [...(out[region.trim()] ?? []), broker.trim()]
  }
  return out
}

const v = variablesFor<ReplicationSettingsInput>()

/** Every variable a replication process reads: the only place their names are written. */
export const variables = {
  ...processVariables,
  // In the cloud, from the SSM parameter ReplicationStack writes (infra hands it over by key).
  PEER_KAFKA: v.plain(
    'peers',
    z.string().min(1, 'PEER_KAFKA lists the other regions: eu-west=host:port,ap-south=host:port'),
    (s) =>
      s.peers
        ? Object.entries(s.peers)
            .flatMap(([region, brokers]) => brokers.map((b) => `${region}=${b}`))
            .join(',')
        : undefined,
  ),
  TOPIC_NAMESPACE: v.plain(
    'topicNamespace',
    z.string().default(replicationDefaults.topicNamespace),
    (s) => s.topicNamespace,
  ),
  HEARTBEAT_INTERVAL_MS: v.plain(
    'heartbeatIntervalMs',
    z.coerce.number().int().positive().default(replicationDefaults.heartbeatIntervalMs),
    (s) => (s.heartbeatIntervalMs === undefined ? undefined : String(s.heartbeatIntervalMs)),
  ),
  REPLICATION_PORT: v.plain('port', z.coerce.number().int().min(0).max(65_535).optional(), (s) =>
    s.port === undefined ? undefined : String(s.port),
  ),
  REPLICATION_HOST: v.plain('host', z.string().default(replicationDefaults.host), (s) => s.host),
  REPLICATION_ROLES: v.plain(
    'roles',
    z.string().default(replicationDefaults.roles.join(',')),
    (s) => (s.roles ? replicationRoles.filter((r) => s.roles?.[r]).join(',') : undefined),
  ),
  REPLICATION_CONTROL: v.plain('control', z.enum(['0', '1']).default('0'), (s) =>
    s.control === undefined ? undefined : s.control ? '1' : '0',
  ),
}

/** Parse the environment; a bad or missing variable is one readable line, not a stack trace. */
export function fromEnv(env: Env = process.env): ReplicationConfig {
  const e = readEnv('replication', variables, env)
  return {
    ...processSettingsOf(e),
    peers: parsePeers(e.PEER_KAFKA),
    topicNamespace: e.TOPIC_NAMESPACE,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    ...(e.REPLICATION_PORT === undefined ? {} : { port: e.REPLICATION_PORT }),
    host: e.REPLICATION_HOST,
    roles: parseReplicationRoles(e.REPLICATION_ROLES),
    control: e.REPLICATION_CONTROL === '1',
  }
}

/**
 * The variables that tell a replication process `settings`; `fromEnv(toEnv(s))` gives `s` back.
 * What `settings` leaves out is not written. `texts` gives a setting as text already written, by
 * key: the cloud's Terraform values.
 */
export function toEnv(
  settings: ReplicationSettingsInput,
  texts: Readonly<Partial<Record<KeyOf<typeof variables>, string>>> = {},
): Record<string, string> {
  return writeEnv(variables, settings, texts)
}
