import { regionIdSchema } from '@meridian/core'
import { databaseUrl } from '@meridian/regions'
import { z } from 'zod'

export interface ReplicationConfig {
  readonly region: string
  readonly databaseUrl: string
  readonly databaseSchema?: string
  readonly kafkaBrokers: readonly string[]
  /** Every other region and its cluster: region → brokers. */
  readonly peers: Readonly<Record<string, readonly string[]>>
  readonly topicNamespace: string
  readonly eventsPartitions: number
  readonly heartbeatIntervalMs: number
  /** Where /replication/status and /metrics answer; undefined: not served. */
  readonly port?: number
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
    peers: parsePeers(e.PEER_KAFKA),
    topicNamespace: e.TOPIC_NAMESPACE,
    eventsPartitions: e.EVENTS_PARTITIONS,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    ...(e.REPLICATION_PORT === undefined ? {} : { port: e.REPLICATION_PORT }),
  }
}
