import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { HybridClock } from '@meridian/core'
import { type BusProducer, createKafkaBus } from './adapters/kafka.ts'
import { useNodeCrypto } from './adapters/node-crypto.ts'
import { createPool } from './adapters/postgres.ts'
import { connectRedis, keyspace } from './adapters/redis.ts'
import { createRegionApp } from './api/app.ts'
import type { RegionConfig } from './config.ts'
import { FastPathGate } from './fastpath/gate.ts'
import { GroupCommitter } from './fastpath/group-commit.ts'
import type { Logger } from './log.ts'
import { createMetrics } from './metrics.ts'
import { OutboxRelay } from './outbox/relay.ts'
import { type PaymentPolicy, PaymentService } from './payments/service.ts'
import { type CreateOutcome, insertPaymentBatch, type NewPaymentWrite } from './store/payments.ts'
import { ensureTopics } from './topics.ts'

export interface RunningRegion {
  readonly region: string
  /** http://host:port of the API, when the api role runs. */
  readonly url: string | undefined
  readonly relay: OutboxRelay | undefined
  /** Graceful: stop accepting, finish in-flight requests, flush commits and the relay. */
  stop(): Promise<void>
}

/** How long a graceful stop waits for in-flight requests before closing anyway. */
export const shutdownMsMax = 10_000

/** Composition root of one region process: wires adapters, services and the HTTP server. */
export async function startRegion(config: RegionConfig, log: Logger): Promise<RunningRegion> {
  useNodeCrypto()
  const pool = createPool({
    url: config.databaseUrl,
    poolSizeMax: config.poolSizeMax,
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
  })
  const redis = await connectRedis(config.redisUrl)
  const metrics = createMetrics(config.region)
  const bus = createKafkaBus({
    brokers: config.kafkaBrokers,
    clientId: `region-${config.region}`,
    log,
  })
  let producer: BusProducer | undefined
  let relay: OutboxRelay | undefined
  if (config.roles.relay) {
    await ensureTopics(
      bus,
      [{ topic: config.eventsTopic, partitions: config.eventsPartitions }],
      log,
    )
    producer = await bus.producer({ idempotent: true })
    relay = new OutboxRelay(
      pool,
      producer,
      { topic: config.eventsTopic, lockName: config.databaseSchema ?? config.region },
      log,
      metrics,
    )
    relay.start()
  }
  const committer = new GroupCommitter<NewPaymentWrite, CreateOutcome>(
    async (batch) => {
      metrics.groupCommitBatch.observe(batch.length)
      const stopTimer = metrics.groupCommitSeconds.startTimer()
      const outcomes = await insertPaymentBatch(pool, batch)
      stopTimer()
      relay?.kick()
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
  const payments = new PaymentService({
    region: config.region,
    pool,
    gate: new FastPathGate(redis, keyspace(config.redisPrefix), log),
    clock: new HybridClock(config.region),
    committer,
    policy: () => policy,
    log,
    metrics,
  })
  let draining = false
  const app = createRegionApp({
    region: config.region,
    payments,
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

  let server: ReturnType<typeof serve> | undefined
  let url: string | undefined
  if (config.roles.api) {
    server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () =>
        resolve(s),
      )
    })
    const address = server.address() as AddressInfo
    url = `http://${config.host}:${address.port}`
    log.info('region api listening', { url })
  }

  return {
    region: config.region,
    url,
    relay,
    async stop() {
      draining = true
      if (server) await closeServer(server as import('node:http').Server)
      await committer.drained()
      await relay?.stop(true)
      await producer?.close()
      redis.disconnect()
      await pool.end()
      log.info('region stopped')
    },
  }
}

/** Stop accepting, let in-flight requests finish, then drop idle keep-alive connections. */
function closeServer(server: import('node:http').Server): Promise<void> {
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
