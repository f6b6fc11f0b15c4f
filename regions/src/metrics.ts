import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** One registry per region instance, so several regions in one test process do not collide. */
export function createMetrics(region: string) {
  const registry = new Registry()
  registry.setDefaultLabels({ region })
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
  }
}

export type Metrics = ReturnType<typeof createMetrics>
