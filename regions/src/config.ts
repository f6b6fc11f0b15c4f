import { defaultFraudPolicy, type FraudPolicy, regionIdSchema, Secret } from '@meridian/core'
import { z } from 'zod'
import { databaseUrl } from './adapters/postgres.ts'
import { redisUrl } from './adapters/redis.ts'
import type { RateLimit } from './fastpath/gate.ts'

/** Everything one region process needs, from its environment. */
export interface RegionConfig {
  readonly region: string
  readonly databaseUrl: string
  /** Tests put each region in a schema of a shared database. */
  readonly databaseSchema?: string
  readonly poolSizeMax: number
  readonly redisUrl: string
  readonly redisPrefix: string
  readonly kafkaBrokers: readonly string[]
  readonly eventsTopic: string
  readonly eventsPartitions: number
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  readonly edgeSecret: Secret
  readonly roles: { readonly api: boolean; readonly relay: boolean }
  readonly rate: RateLimit
  readonly fraud: FraudPolicy
  readonly blockedCards: readonly string[]
}

export const regionDefaults = {
  poolSizeMax: 10,
  eventsTopic: 'events',
  eventsPartitions: 16,
  host: '127.0.0.1',
  // The edge limits merchants first; the region's own limit only protects the region.
  rate: { perSec: 5000, burst: 10_000 },
} as const

const envSchema = z.object({
  REGION: regionIdSchema,
  PORT: z.coerce.number().int().min(0).max(65_535).default(0),
  HOST: z.string().default(regionDefaults.host),
  REGION_DATABASE_URL: z.string().optional(),
  REGION_DATABASE_SCHEMA: z.string().optional(),
  PG_POOL_SIZE_MAX: z.coerce.number().int().min(1).max(100).default(regionDefaults.poolSizeMax),
  REDIS_PREFIX: z.string().optional(),
  KAFKA_BROKERS: z.string().min(1, 'KAFKA_BROKERS lists the region cluster, host:port[,host:port]'),
  EVENTS_TOPIC: z.string().default(regionDefaults.eventsTopic),
  EDGE_SECRET: z.string().min(16, 'EDGE_SECRET must be at least 16 characters'),
  ROLES: z.string().default('api,relay'),
  RATE_LIMIT_PER_SEC: z.coerce.number().positive().default(regionDefaults.rate.perSec),
  RATE_LIMIT_BURST: z.coerce.number().positive().default(regionDefaults.rate.burst),
  BLOCKED_CARDS: z.string().default(''),
})

/** Parse the environment; a bad or missing variable is one readable line, not a stack trace. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RegionConfig {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    throw new Error(`region configuration: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`)
  }
  const e = parsed.data
  const roles = new Set(e.ROLES.split(',').map((r) => r.trim()))
  return {
    region: e.REGION,
    databaseUrl: e.REGION_DATABASE_URL ?? databaseUrl(),
    ...(e.REGION_DATABASE_SCHEMA ? { databaseSchema: e.REGION_DATABASE_SCHEMA } : {}),
    poolSizeMax: e.PG_POOL_SIZE_MAX,
    redisUrl: redisUrl(),
    redisPrefix: e.REDIS_PREFIX ?? `meridian:${e.REGION}:`,
    kafkaBrokers: e.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    eventsTopic: e.EVENTS_TOPIC,
    eventsPartitions: regionDefaults.eventsPartitions,
    host: e.HOST,
    port: e.PORT,
    edgeSecret: new Secret(e.EDGE_SECRET),
    roles: { api: roles.has('api'), relay: roles.has('relay') },
    rate: { perSec: e.RATE_LIMIT_PER_SEC, burst: e.RATE_LIMIT_BURST },
    fraud: defaultFraudPolicy,
    blockedCards: e.BLOCKED_CARDS.split(',').filter((c) => c !== ''),
  }
}
