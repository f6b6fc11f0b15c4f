import { defaultFraudPolicy, type FraudPolicy, regionIdSchema, Secret } from '@meridian/core'
import { z } from 'zod'
import { databaseUrl } from './adapters/postgres.ts'
import { redisUrl } from './adapters/redis.ts'
import type { RateLimit } from './fastpath/gate.ts'
import { reconcilerDefaults } from './processing/reconciler.ts'
import { processorTimeoutMsDefault } from './processors/http.ts'
import { parseProcessorUrls } from './processors/registry.ts'

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
  readonly roles: Readonly<Record<Role, boolean>>
  /** Processor name → base URL, in routing order (PROCESSOR_URLS=acquirer-rest=http://…,…). */
  readonly processorUrls: Readonly<Record<string, string>>
  readonly processorTimeoutMs: number
  /** Compresses the webhook retry schedule (three days at 1); tests and drills shrink it. */
  readonly webhookTimeScale: number
  /**
   * Local development only: webhook endpoints may point at loopback (localhost, 127/8, ::1).
   * Every other internal address stays refused. `pnpm start` and the test harness set it; the
   * cloud stacks never do (infra/cloud/test asserts it).
   */
  readonly webhookAllowLoopback: boolean
  readonly reconciler: {
    readonly stuckAfterMs: number
    readonly authorizationTtlMs: number
    readonly unsentFailAfterMs: number
    readonly intervalMs: number
  }
  readonly rate: RateLimit
  readonly fraud: FraudPolicy
  readonly blockedCards: readonly string[]
  /** The hot-merchant partition map (JSON), re-read while running; none: hash everyone. */
  readonly partitionMapFile?: string
  /** How often an idle outbox relay looks anyway (writers wake it); default in OutboxRelay. */
  readonly relayIdlePollMs?: number
  /**
   * The fleet-wide register of which processor authorizes a payment (adapters/pins.ts): Upstash
   * REST, the edge's own global Redis. Needed by the roles that authorize (workers, reconciler).
   */
  readonly processorPins?: {
    readonly url: string
    readonly token: Secret
    readonly prefix: string
  }
}

export const roles = ['api', 'relay', 'workers', 'webhooks', 'reconciler'] as const
export type Role = (typeof roles)[number]

export const regionDefaults = {
  poolSizeMax: 10,
  eventsTopic: 'events',
  eventsPartitions: 16,
  host: '127.0.0.1',
  // The edge limits merchants first; the region's own limit only protects the region.
  rate: { perSec: 5000, burst: 10_000 },
  processorPinsPrefix: 'meridian:pins:',
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
  ROLES: z.string().default(roles.join(',')),
  PROCESSOR_URLS: z.string().default(''),
  PROCESSOR_TIMEOUT_MS: z.coerce.number().int().positive().default(processorTimeoutMsDefault),
  WEBHOOK_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
  // Only the literal `true` opts in: a typo must not open loopback.
  WEBHOOK_ALLOW_LOOPBACK: z.enum(['true', 'false']).default('false'),
  RECONCILE_STUCK_AFTER_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(reconcilerDefaults.stuckAfterMs),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().positive().default(reconcilerDefaults.intervalMs),
  AUTHORIZATION_TTL_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(reconcilerDefaults.authorizationTtlMs),
  UNSENT_FAIL_AFTER_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(reconcilerDefaults.unsentFailAfterMs),
  RATE_LIMIT_PER_SEC: z.coerce.number().positive().default(regionDefaults.rate.perSec),
  RATE_LIMIT_BURST: z.coerce.number().positive().default(regionDefaults.rate.burst),
  BLOCKED_CARDS: z.string().default(''),
  /** Tier-1 fraud velocity: payments per card per window (load tests and drills raise it). */
  FRAUD_CARD_PAYMENTS_PER_WINDOW_MAX: z.coerce
    .number()
    .int()
    .positive()
    .default(defaultFraudPolicy.cardPaymentsPerWindowMax),
  PARTITION_MAP_FILE: z.string().optional(),
  EVENTS_PARTITIONS: z.coerce.number().int().positive().default(regionDefaults.eventsPartitions),
  RELAY_IDLE_POLL_MS: z.coerce.number().int().positive().optional(),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  PROCESSOR_PINS_PREFIX: z.string().default(regionDefaults.processorPinsPrefix),
})

/** Parse the environment; a bad or missing variable is one readable line, not a stack trace. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RegionConfig {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    throw new Error(`region configuration: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`)
  }
  const e = parsed.data
  const wanted = new Set(e.ROLES.split(',').map((r) => r.trim()))
  const unknown = [...wanted].filter((r) => !(roles as readonly string[]).includes(r))
  if (unknown.length > 0)
    throw new Error(
      `region configuration: unknown role(s) ${unknown.join(', ')}; known: ${roles.join(', ')}`,
    )
  if ((e.UPSTASH_REDIS_REST_URL === undefined) !== (e.UPSTASH_REDIS_REST_TOKEN === undefined))
    throw new Error(
      'region configuration: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN together',
    )
  return {
    region: e.REGION,
    databaseUrl: e.REGION_DATABASE_URL ?? databaseUrl(),
    ...(e.REGION_DATABASE_SCHEMA ? { databaseSchema: e.REGION_DATABASE_SCHEMA } : {}),
    poolSizeMax: e.PG_POOL_SIZE_MAX,
    redisUrl: redisUrl(),
    redisPrefix: e.REDIS_PREFIX ?? `meridian:${e.REGION}:`,
    kafkaBrokers: e.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    eventsTopic: e.EVENTS_TOPIC,
    eventsPartitions: e.EVENTS_PARTITIONS,
    host: e.HOST,
    port: e.PORT,
    edgeSecret: new Secret(e.EDGE_SECRET),
    roles: Object.fromEntries(roles.map((r) => [r, wanted.has(r)])) as Record<Role, boolean>,
    processorUrls: parseProcessorUrls(e.PROCESSOR_URLS),
    processorTimeoutMs: e.PROCESSOR_TIMEOUT_MS,
    webhookTimeScale: e.WEBHOOK_TIME_SCALE,
    webhookAllowLoopback: e.WEBHOOK_ALLOW_LOOPBACK === 'true',
    reconciler: {
      stuckAfterMs: e.RECONCILE_STUCK_AFTER_MS,
      authorizationTtlMs: e.AUTHORIZATION_TTL_MS,
      unsentFailAfterMs: e.UNSENT_FAIL_AFTER_MS,
      intervalMs: e.RECONCILE_INTERVAL_MS,
    },
    rate: { perSec: e.RATE_LIMIT_PER_SEC, burst: e.RATE_LIMIT_BURST },
    fraud: {
      ...defaultFraudPolicy,
      cardPaymentsPerWindowMax: e.FRAUD_CARD_PAYMENTS_PER_WINDOW_MAX,
    },
    blockedCards: e.BLOCKED_CARDS.split(',').filter((c) => c !== ''),
    ...(e.PARTITION_MAP_FILE ? { partitionMapFile: e.PARTITION_MAP_FILE } : {}),
    ...(e.RELAY_IDLE_POLL_MS ? { relayIdlePollMs: e.RELAY_IDLE_POLL_MS } : {}),
    ...(e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN
      ? {
          processorPins: {
            url: e.UPSTASH_REDIS_REST_URL,
            token: new Secret(e.UPSTASH_REDIS_REST_TOKEN),
            prefix: e.PROCESSOR_PINS_PREFIX,
          },
        }
      : {}),
  }
}
