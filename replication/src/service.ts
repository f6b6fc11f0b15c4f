import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { topicsFor } from '@meridian/core'
import { createKafkaBus, createPool, ensureTopics, type Logger } from '@meridian/platform'
import { Applier } from './applier.ts'
import { type ReplicationConfig, replicationDefaults } from './config.ts'
import { createReplicationMetrics } from './metrics.ts'
import { HeartbeatEmitter, Replicator } from './replicator.ts'
import { DedupePruner } from './retention.ts'
import { statusApp } from './status.ts'
import { replicatedTopic } from './topics.ts'

export interface RunningReplication {
  readonly url: string | undefined
  readonly replicators: readonly Replicator[]
  stop(): Promise<void>
  /** Stop only the replicators (links down), e.g. to simulate a partition; start them again. */
  pauseLinks(): Promise<void>
  resumeLinks(): Promise<void>
  /** One link only: stop (or restart) reading `origin`'s cluster, e.g. a partition drill. */
  pauseLink(origin: string): Promise<void>
  resumeLink(origin: string): Promise<void>
}

/** One region's replication: heartbeat, a replicator per other region, the applier, /replication/status. */
export async function startReplication(
  config: ReplicationConfig,
  log: Logger,
): Promise<RunningReplication> {
  const pool = createPool({
    url: config.databaseUrl,
    poolSizeMax: replicationDefaults.poolSizeMax,
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
    // As a region's processes name theirs: whose backends these are, in pg_stat_activity.
    applicationName: `meridian ${config.region} replication`,
  })
  const metrics = createReplicationMetrics(config.region)
  const topics = topicsFor(config.topicNamespace)
  const bus = createKafkaBus({
    brokers: config.kafkaBrokers,
    clientId: `replication-${config.region}`,
    ...(config.kafkaClient ? { client: config.kafkaClient } : {}),
    ...(config.kafkaAuth ? { auth: config.kafkaAuth } : {}),
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

  const makeReplicator = (origin: string) =>
    new Replicator(
      config.region,
      bus,
      {
        origin,
        originBus: createKafkaBus({
          brokers: config.peers[origin] ?? [],
          clientId: `replicator-${config.region}-from-${origin}`,
          ...(config.kafkaClient ? { client: config.kafkaClient } : {}),
          ...(config.kafkaAuth ? { auth: config.kafkaAuth } : {}),
          log,
        }),
      },
      topics,
      config.eventsPartitions,
      log,
      metrics,
    )
  // origin → its running replicator; a paused link has none.
  const links = new Map<string, Replicator>()
  const resumeLink = async (origin: string) => {
    if (!roles.replicator || links.has(origin)) return
    if (!peers.includes(origin)) throw new Error(`${origin} is not a peer of ${config.region}`)
    const r = makeReplicator(origin)
    links.set(origin, r)
    await r.start()
  }
  const pauseLink = async (origin: string) => {
    if (!peers.includes(origin)) throw new Error(`${origin} is not a peer of ${config.region}`)
    const r = links.get(origin)
    links.delete(origin)
    await r?.stop()
  }
  for (const origin of peers) await resumeLink(origin)

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
      heartbeatIntervalMs: config.heartbeatIntervalMs,
    },
    log,
    metrics,
  )
  if (roles.applier) {
    await applier.start()
    stops.unshift(() => applier.stop())
    const pruner = new DedupePruner(pool, log)
    pruner.start()
    stops.unshift(async () => pruner.stop())
  }

  let server: Server | undefined
  let url: string | undefined
  const port = config.port
  if (port !== undefined) {
    const app = statusApp({
      region: config.region,
      pool,
      bus,
      peers,
      topics,
      metrics,
      ...(config.control ? { control: { pauseLink, resumeLink } } : {}),
    })
    server = await new Promise<Server>((resolve) => {
      const s = serve(
        { fetch: app.fetch, port, hostname: config.host ?? replicationDefaults.host },
        () => resolve(s as Server),
      )
    })
    url = `http://${config.host ?? replicationDefaults.host}:${(server.address() as AddressInfo).port}`
  }
  return {
    url,
    get replicators() {
      return [...links.values()]
    },
    pauseLink,
    resumeLink,
    async pauseLinks() {
      for (const origin of peers) await pauseLink(origin)
    },
    async resumeLinks() {
      for (const origin of peers) await resumeLink(origin)
    },
    async stop() {
      server?.closeAllConnections()
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
      for (const r of links.values()) await r.stop()
      for (const s of stops) await s()
      await pool.end()
    },
  }
}
