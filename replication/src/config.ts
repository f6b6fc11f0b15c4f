import { regionIdSchema } from '@meridian/core'
import { databaseUrl, type KafkaClient, kafkaClientFromEnv } from '@meridian/platform'
import { z } from 'zod'

export interface ReplicationConfig {
  readonly region: string
  readonly databaseUrl: string
  readonly databaseSchema?: string
  readonly kafkaBrokers: readonly string[]
  /** The client library behind the Kafka bus; unset: KAFKA_CLIENT (default kafkajs). */
  readonly kafkaClient?: KafkaClient
  /** Every other region and its cluster: region → brokers. */
  readonly peers: Readonly<Record<string, readonly string[]>>
  readonly topicNamespace: string
  readonly eventsPartitions: number
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

export const replicationRoles = ['replicator', 'applier'] as const
export type ReplicationRole = (typeof replicationRoles)[number]

export function parseReplicationRoles(text: string): Record<ReplicationRole, boolean> {
  const listed = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
  const unknown = listed.filter((r) => !(replicationRoles as readonly string[]).includes(r))
  if (unknown.length > 0 || listed.length === 0)
    throw new Error(`REPLICATION_ROLES lists ${replicationRoles.join(' and/or ')}, not "${text}"`)
  return { replicator: listed.includes('replicator'), applier: listed.includes('applier') }
}

const envSchema = z.object({
  REGION: regionIdSchema,
  REGION_DATABASE_URL: z.string().optional(),
  REGION_DATABASE_SCHEMA: z.string().optional(),
  KAFKA_BROKERS: z.string().min(1),
  PEER_KAFKA: z
    .string()
    .min(1, 'PEER_KAFKA lists the other regions: eu-west=host:port,ap-south=host:port'),
  TOPIC_NAMESPACE: z.string().default(''),
  EVENTS_PARTITIONS: z.coerce.number().int().positive().default(16),
  HEARTBEAT_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  REPLICATION_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  REPLICATION_HOST: z.string().default('127.0.0.1'),
  REPLICATION_ROLES: z.string().default(replicationRoles.join(',')),
  REPLICATION_CONTROL: z.enum(['0', '1']).default('0'),
})

export function parsePeers(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [region, broker] = part.split('=')
    if (!region || !broker) throw new Error(`PEER_KAFKA entry "${part}" is not region=host:port`)
    out[region.trim()] = [...(out[region.trim()] ?? []), broker.trim()]
  }
  return out
}

export function replicationConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ReplicationConfig {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success)
    throw new Error(
      `replication configuration: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
    )
  const e = parsed.data
  return {
    region: e.REGION,
    databaseUrl: e.REGION_DATABASE_URL ?? databaseUrl(),
    ...(e.REGION_DATABASE_SCHEMA ? { databaseSchema: e.REGION_DATABASE_SCHEMA } : {}),
    kafkaBrokers: e.KAFKA_BROKERS.split(','),
    kafkaClient: kafkaClientFromEnv(env),
    peers: parsePeers(e.PEER_KAFKA),
    topicNamespace: e.TOPIC_NAMESPACE,
    eventsPartitions: e.EVENTS_PARTITIONS,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    ...(e.REPLICATION_PORT === undefined ? {} : { port: e.REPLICATION_PORT }),
    host: e.REPLICATION_HOST,
    roles: parseReplicationRoles(e.REPLICATION_ROLES),
    control: e.REPLICATION_CONTROL === '1',
  }
}
