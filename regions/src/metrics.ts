import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { BreakerState } from './processors/breaker.ts'

/**
 * What some gauges read only when scraped, set by the role that owns the data (a process without
 * that role leaves it unset). A breaker half-opens by the clock alone and the webhook backlog is
 * rows in Postgres: neither has an event to set a gauge from.
 */
export interface ScrapeSources {
  breakers?: () => Iterable<{ readonly name: string; readonly state: BreakerState }>
  webhookBacklog?: () => Promise<number>
}

/**
 * How long a scrape waits for a source that asks Postgres. A database that hangs must not hang
 * /metrics too: Prometheus would then call the whole process down and lose its other metrics.
 */
export const scrapeReadMsMax = 1000

const breakerStates: readonly BreakerState[] = ['closed', 'half_open', 'open']

/** The source's answer, or NaN (Prometheus's "unknown", not 0) when it fails or is late. */
export async function readWithin(
  read: () => Promise<number>,
  msMax: number = scrapeReadMsMax,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(Number.NaN), msMax)
  })
  try {
    return await Promise.race([read().catch(() => Number.NaN), late])
  } finally {
    clearTimeout(timer)
  }
}

/** One registry per region instance, so several regions in one test process do not collide. */
export function createMetrics(region: string) {
  const registry = new Registry()
  registry.setDefaultLabels({ region })
  const sources: ScrapeSources = {}
  const httpSeconds = new Histogram({
    name: 'meridian_http_request_duration_seconds',
    help: 'Time from request received to response ready, by route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  const paymentsCreated = new Counter({
    name: 'meridian_payments_created_total',
    help: 'Payments durably accepted, by initial status.',
    labelNames: ['status'] as const,
    registers: [registry],
  })
  const idempotentReplays = new Counter({
    name: 'meridian_idempotent_replays_total',
    help: 'Responses replayed for a repeated Idempotency-Key, by where the record was found.',
    labelNames: ['source'] as const,
    registers: [registry],
  })
  const groupCommitBatch = new Histogram({
    name: 'meridian_group_commit_batch_size',
    help: 'Create requests per Postgres commit.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  })
  const groupCommitSeconds = new Histogram({
    name: 'meridian_group_commit_seconds',
    help: 'Time one group commit (a batch insert and its durable commit) takes.',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  const gateSeconds = new Histogram({
    name: 'meridian_redis_gate_seconds',
    help: 'Time the Redis gate (rate limit, idempotency claim, velocity) takes.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [registry],
  })
  const redisDegraded = new Counter({
    name: 'meridian_redis_degraded_total',
    help: 'Requests served without Redis (no fast idempotency, rate limit or velocity).',
    registers: [registry],
  })
  const outboxBacklog = new Gauge({
    name: 'meridian_outbox_backlog',
    help: 'Outbox rows committed but not yet published to Kafka.',
    registers: [registry],
  })
  const partitionMapVersion = new Gauge({
    name: 'meridian_partition_map_version',
    help: 'Version of the hot-merchant partition map this process routes by.',
    registers: [registry],
  })
  const outboxPublished = new Counter({
    name: 'meridian_outbox_published_total',
    help: 'Outbox events published to Kafka.',
    registers: [registry],
  })
  const breakerState = new Gauge({
    name: 'meridian_processor_breaker_state',
    help: "Each processor's circuit breaker in this process: 1 for its current state, 0 for the others.",
    labelNames: ['processor', 'state'] as const,
    registers: [registry],
    collect() {
      for (const breaker of sources.breakers?.() ?? [])
        for (const state of breakerStates)
          this.set({ processor: breaker.name, state }, breaker.state === state ? 1 : 0)
    },
  })
  // Counted at the event: a breaker may open and half-open again between two scrapes.
  const breakerOpened = new Counter({
    name: 'meridian_processor_breaker_opened_total',
    help: 'Times a processor circuit breaker opened (consecutive failures, or a failed trial).',
    labelNames: ['processor'] as const,
    registers: [registry],
  })
  const webhookDeadLetters = new Counter({
    name: 'meridian_webhook_dead_letters_total',
    help: 'Webhook deliveries dead-lettered: their retry window used up without a 2xx.',
    registers: [registry],
  })
  const webhookBacklog = new Gauge({
    name: 'meridian_webhook_backlog',
    help: 'Webhook deliveries still to make (queued, or waiting for a retry), read from Postgres when scraped.',
    registers: [registry],
    async collect() {
      const read = sources.webhookBacklog
      if (read) this.set(await readWithin(read))
    },
  })
  return {
    registry,
    httpSeconds,
    paymentsCreated,
    idempotentReplays,
    groupCommitBatch,
    groupCommitSeconds,
    gateSeconds,
    redisDegraded,
    outboxBacklog,
    outboxPublished,
    partitionMapVersion,
    breakerState,
    breakerOpened,
    webhookDeadLetters,
    webhookBacklog,
    sources,
  }
}

export type Metrics = ReturnType<typeof createMetrics>
