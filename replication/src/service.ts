import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createKafkaBus, createPool, ensureTopics, type Logger } from '@meridian/regions'
import { Applier } from './applier.ts'
import type { ReplicationConfig } from './config.ts'
import { createReplicationMetrics } from './metrics.ts'
import { HeartbeatEmitter, Replicator } from './replicator.ts'
import { statusApp } from './status.ts'
import { replicatedTopic, topicsFor } from './topics.ts'

export interface RunningReplication {
  readonly url: string | undefined
  readonly replicators: readonly Replicator[]
  stop(): Promise<void>
  /** Stop only the replicators (links down), e.g. to simulate a partition; start them again. */
  pauseLinks(): Promise<void>
  resumeLinks(): Promise<void>
}

/** One region's replication: heartbeat, a replicator per other region, the applier, /replication/status. */
export async function startReplication(
  config: ReplicationConfig,
  log: Logger,
): Promise<RunningReplication> {
  const pool = createPool({
    url: config.databaseUrl,
    poolSizeMax: 8,
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
  })
  const metrics = createReplicationMetrics(config.region)
  const topics = topicsFor(config.topicNamespace)
  const bus = createKafkaBus({
    brokers: config.kafkaBrokers,
    clientId: `replication-${config.region}`,
    log,
  })
  const peers = Object.keys(config.peers)
  const roles = config.roles ?? { replicator: true, applier: true }
  const stops: (() => Promise<void>)[] = []

  const heartbeat = new HeartbeatEmitter(
    config.region,
    bus,
    topics.heartbeats,
    log,
    config.heartbeatIntervalMs,
  )
  // Heartbeats go with the applier: one per region, from the half that is always deployed there.
  if (roles.applier) {
    await heartbeat.start()
    stops.push(() => heartbeat.stop())
  }

  const makeReplicators = () =>
    (roles.replicator ? peers : []).map(
      (origin) =>
        new Replicator(
          config.region,
          bus,
          {
            origin,
            originBus: createKafkaBus({
              brokers: config.peers[origin] ?? [],
              clientId: `replicator-${config.region}-from-${origin}`,
              log,
            }),
          },
          topics,
          config.eventsPartitions,
          log,
          metrics,
        ),
    )
  let replicators = makeReplicators()
  for (const r of replicators) await r.start()

  await ensureTopics(
    bus,
    peers.flatMap((p) => [
      { topic: replicatedTopic(p, topics.events), partitions: config.eventsPartitions },
      { topic: replicatedTopic(p, topics.heartbeats), partitions: 1 },
    ]),
    log,
  )
  const applier = new Applier(
    bus,
    pool,
    {
      region: config.region,
      peers,
      groupId: `applier.${config.region}.${config.topicNamespace}`,
      topics,
    },
    log,
    metrics,
  )
  if (roles.applier) {
    await applier.start()
    stops.unshift(() => applier.stop())
  }

  let server: Server | undefined
  let url: string | undefined
  const port = config.port
  if (port !== undefined) {
    const app = statusApp({ region: config.region, pool, bus, peers, topics, metrics })
    server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port, hostname: config.host ?? '127.0.0.1' }, () =>
        resolve(s as Server),
      )
    })
    url = `http://${config.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`
  }
  return {
    url,
    get replicators() {
      return replicators
    },
    async pauseLinks() {
      for (const r of replicators) await r.stop()
    },
    async resumeLinks() {
      replicators = makeReplicators()
      for (const r of replicators) await r.start()
    },
    async stop() {
      server?.closeAllConnections()
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
      for (const r of replicators) await r.stop()
      for (const s of stops) await s()
      await pool.end()
    },
  }
}
