import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { HybridClock, partitionFor } from '@meridian/core'
import {
  type BusProducer,
  connectRedis,
  createKafkaBus,
  createPool,
  ensureTopics,
  GroupCommitter,
  type KafkaBus,
  keyspace,
  type Logger,
  useNodeCrypto,
} from '@meridian/platform'
import type pg from 'pg'
import { type ProcessorPins, UpstashPins } from './adapters/pins.ts'
import { createRegionApp } from './api/app.ts'
import { answerMalformedHttp } from './api/malformed.ts'
import { type RegionConfig, roles } from './config.ts'
import { FastPathGate } from './fastpath/gate.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { serveMetrics } from './metrics-server.ts'
import { DrainGuard } from './outbox/drain.ts'
import { PartitionMapSource } from './outbox/partition-map.ts'
import { OutboxRelay } from './outbox/relay.ts'
import { OutboxSignal } from './outbox/signal.ts'
import { IdempotencyGuard } from './payments/guard.ts'
import { MerchantService } from './payments/merchant.ts'
import { PlacementService } from './payments/placements.ts'
import { type PaymentPolicy, PaymentService } from './payments/service.ts'
import { ProcessorSet } from './processors/routing.ts'
import {
  type CreateOutcome,
  insertPaymentBatch,
  type RoutedPaymentWrite,
} from './store/payments.ts'
import { jurisdictionOf } from './store/placements.ts'
import { WebhookDeliverer, webhookBacklog } from './webhooks/deliverer.ts'
import { WebhookDispatcher } from './webhooks/dispatcher.ts'
import { webhookSchedule } from './webhooks/schedule.ts'
import { PaymentFlow } from './workflow/flow.ts'
import { Reconciler } from './workflow/reconciler.ts'
import { ProcessorWorker } from './workflow/worker.ts'

export interface RunningRegion {
  readonly region: string
  /** http://host:port of the API, when the api role runs. */
  readonly url: string | undefined
  readonly relay: OutboxRelay | undefined
  readonly reconciler: Reconciler | undefined
  /** Graceful: stop accepting, finish in-flight requests, flush commits and the relay. */
  stop(): Promise<void>
}

/** How long a graceful stop waits for in-flight requests before closing anyway. */
export const shutdownMsMax = 10_000

interface Shared {
  readonly config: RegionConfig
  readonly log: Logger
  readonly pool: pg.Pool
  readonly metrics: Metrics
  readonly bus: KafkaBus
  readonly clock: HybridClock
}

/** Composition root of one region process: wires adapters and starts the configured roles. */
export async function startRegion(config: RegionConfig, log: Logger): Promise<RunningRegion> {
  useNodeCrypto()
  const pool = createPool({
    url: config.databaseUrl,
    poolSizeMax: config.poolSizeMax,
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
    applicationName: `meridian ${config.region} ${roles.filter((r) => config.roles[r]).join(',')}`,
  })
  const shared: Shared = {
    config,
    log,
    pool,
    metrics: createMetrics(config.region),
    bus: createKafkaBus({
      brokers: config.kafkaBrokers,
      clientId: `region-${config.region}`,
      client: config.kafkaClient,
      auth: config.kafkaAuth,
      log,
    }),
    clock: new HybridClock(config.region),
  }
  const stops: (() => Promise<void>)[] = []
  const lockName = config.databaseSchema ?? config.region
  const groupPrefix = `${config.eventsTopic}.${lockName}`

  let relay: OutboxRelay | undefined
  // Whoever commits outbox rows wakes the relay: directly when it runs in this process.
  const signal = new OutboxSignal(pool)
  const outboxWritten = () => (relay ? relay.kick() : signal.committed())
  if (config.roles.relay) {
    await ensureTopics(
      shared.bus,
      [{ topic: config.eventsTopic, partitions: config.eventsPartitions }],
      log,
    )
    // The hot-merchant map chooses partitions (the producer's partitioner reads it on every
    // send); a change drains a moving merchant's old partition before it switches.
    const admin = await shared.bus.admin()
    // The map must describe the topic as it is (a topic made elsewhere may have other counts).
    const partitions = (await admin.partitionCount(config.eventsTopic)) || config.eventsPartitions
    const maps = new PartitionMapSource(config.partitionMapFile, partitions, log)
    shared.metrics.partitionMapVersion.set(maps.current().version)
    maps.onChange((map) => shared.metrics.partitionMapVersion.set(map.version))
    maps.start()
    const producer: BusProducer = await shared.bus.producer({
      idempotent: true,
      partitioner: (key, count) => {
        const map = maps.current()
        return map.partitions === count ? partitionFor(map, key) : undefined
      },
    })
    const drain = new DrainGuard(maps, admin, config.eventsTopic, `${groupPrefix}.workers`, log)
    relay = new OutboxRelay(
      pool,
      producer,
      {
        topic: config.eventsTopic,
        lockName,
        drain,
        ...(config.relayIdlePollMs ? { idlePollMs: config.relayIdlePollMs } : {}),
        ...(config.relayBatchLingerMs === undefined
          ? {}
          : { batchLingerMs: config.relayBatchLingerMs }),
      },
      log,
      shared.metrics,
    )
    relay.start()
    const started = relay
    stops.push(async () => {
      await started.stop(true)
      await producer.close()
      await admin.close()
      maps.stop()
    })
  }

  const register = processorPins(config)
  const processors = new ProcessorSet(config.processorUrls, {
    timeoutMs: config.processorTimeoutMs,
    onBreakerOpen: (processor) => shared.metrics.breakerOpened.inc({ processor }),
  })
  // Only the roles that call processors show their breakers; elsewhere they never leave closed.
  if (config.roles.workers || config.roles.reconciler) {
    shared.metrics.sources.breakers = () => processors.breakers()
    // Each count starts at 0, so the first opening is an increase Prometheus can see.
    for (const processor of processors.names()) shared.metrics.breakerOpened.inc({ processor }, 0)
  }
  const flow = new PaymentFlow({
    region: config.region,
    pool,
    clock: shared.clock,
    processors,
    pins: register,
    log,
    outboxWritten,
  })
  if (config.roles.workers) {
    await ensureTopics(
      shared.bus,
      [{ topic: config.eventsTopic, partitions: config.eventsPartitions }],
      log,
    )
    const admin = await shared.bus.admin()
    const partitions = (await admin.partitionCount(config.eventsTopic)) || config.eventsPartitions
    await admin.close()
    const maps = new PartitionMapSource(config.partitionMapFile, partitions, log)
    maps.start()
    stops.push(async () => maps.stop())
    const worker = new ProcessorWorker(
      shared.bus,
      flow,
      { topic: config.eventsTopic, groupId: `${groupPrefix}.workers`, maps },
      log,
    )
    await worker.start()
    stops.unshift(() => worker.stop())
  }
  let reconciler: Reconciler | undefined
  if (config.roles.reconciler) {
    reconciler = new Reconciler(
      pool,
      flow,
      { lockName, region: config.region, ...config.reconciler },
      log,
      register,
    )
    reconciler.start()
    const started = reconciler
    stops.unshift(() => started.stop())
  }
  if (config.roles.webhooks) stops.unshift(await startWebhooks(shared, groupPrefix))

  const api = config.roles.api ? await startApi(shared, outboxWritten) : undefined
  if (api) stops.unshift(api.stop)
  // The API serves /metrics itself; a process without it (relay, workers…) may on a port of its own.
  if (!api && config.metricsPort !== undefined) {
    const server = await serveMetrics(shared.metrics, config.host, config.metricsPort)
    log.info('region metrics listening', { url: server.url })
    stops.unshift(server.stop)
  }

  return {
    region: config.region,
    url: api?.url,
    relay,
    reconciler,
    async stop() {
      for (const stop of stops) await stop()
      await pool.end()
      log.info('region stopped')
    },
  }
}

async function startWebhooks(shared: Shared, groupPrefix: string): Promise<() => Promise<void>> {
  const { config, pool, log, bus } = shared
  await ensureTopics(bus, [{ topic: config.eventsTopic, partitions: config.eventsPartitions }], log)
  const deliverer = new WebhookDeliverer(
    pool,
    { ...webhookSchedule, timeScale: config.webhookTimeScale },
    log,
    { allowLoopback: config.webhookAllowLoopback, secretKeys: config.webhookSecretKeys },
    () => shared.metrics.webhookDeadLetters.inc(),
  )
  shared.metrics.sources.webhookBacklog = () => webhookBacklog(pool)
  const dispatcher = new WebhookDispatcher(
    bus,
    pool,
    {
      topic: config.eventsTopic,
      groupId: `${groupPrefix}.webhooks`,
      onQueued: () => deliverer.kick(),
    },
    log,
  )
  await dispatcher.start()
  deliverer.start()
  return async () => {
    await dispatcher.stop()
    await deliverer.stop()
  }
}

async function startApi(
  shared: Shared,
  onCommitted: () => void,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const { config, pool, log, metrics, clock } = shared
  const jurisdiction = jurisdictionOf(config.region)
  const redis = await connectRedis(config.redisUrl)
  const committer = new GroupCommitter<RoutedPaymentWrite, CreateOutcome>(
    async (batch) => {
      metrics.groupCommitBatch.observe(batch.length)
      const stopTimer = metrics.groupCommitSeconds.startTimer()
      const outcomes = await insertPaymentBatch(pool, batch, jurisdiction)
      stopTimer()
      onCommitted()
      return outcomes
    },
    {
      batchSizeMax: 256,
      flushesInFlightMax: 2,
      queueDepthMax: 20_000,
      keyOf: (w) => `${w.payment.merchantId}\u0000${w.idempotency.key}`,
    },
  )
  const policy: PaymentPolicy = {
    rate: config.rate,
    fraud: config.fraud,
    blockedCards: new Set(config.blockedCards),
  }
  const gate = new FastPathGate(redis, keyspace(config.redisPrefix), log)
  const payments = new PaymentService({
    region: config.region,
    jurisdiction,
    pool,
    gate,
    clock,
    committer,
    policy: () => policy,
    log,
    metrics,
    outboxWritten: onCommitted,
  })
  const guard = new IdempotencyGuard({ pool, gate, policy: () => policy, metrics })
  const merchants = new MerchantService({
    region: config.region,
    jurisdiction,
    pool,
    gate,
    guard,
    rate: () => config.rate,
    clock,
    outboxWritten: onCommitted,
    webhookAllowLoopback: config.webhookAllowLoopback,
    webhookSecretKeys: config.webhookSecretKeys,
  })
  let draining = false
  const placements = new PlacementService({
    region: config.region,
    jurisdiction,
    pool,
    clock,
    outboxWritten: onCommitted,
  })
  const app = createRegionApp({
    region: config.region,
    payments,
    merchants,
    placements,
    edgeSecret: () => config.edgeSecret.reveal(),
    log,
    metrics,
    ready: async () => {
      const checks: Record<string, string> = {}
      checks.postgres = await pool.query('select 1').then(
        () => 'ok',
        (e: unknown) => `down: ${String(e)}`,
      )
      checks.redis = await redis.ping().then(
        () => 'ok',
        () => 'degraded',
      )
      if (draining) checks.shutdown = 'draining'
      return { ok: checks.postgres === 'ok' && !draining, checks }
    },
  })
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () =>
      resolve(s as Server),
    )
  })
  answerMalformedHttp(server)
  const url = `http://${config.host}:${(server.address() as AddressInfo).port}`
  log.info('region api listening', { url })
  return {
    url,
    async stop() {
      draining = true
      await closeServer(server)
      await committer.drained()
      redis.disconnect()
    },
  }
}

/** Stop accepting, let in-flight requests finish, then drop idle keep-alive connections. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections()
      resolve()
    }, shutdownMsMax)
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections()
  })
}

/**
 * The roles that authorize need the fleet's processor register; the others never ask it, so a
 * region without one (the API alone, a relay) starts without it.
 */
function processorPins(config: RegionConfig): ProcessorPins {
  if (config.processorPins) return new UpstashPins(config.processorPins)
  if (config.roles.workers || config.roles.reconciler)
    throw new Error(
      'region configuration: the workers and reconciler roles need the processor register: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN',
    )
  return {
    agree: () => Promise.reject(new Error('this region process does not authorize payments')),
  }
}
