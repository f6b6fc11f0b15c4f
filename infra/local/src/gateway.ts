import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { EdgeSettingsInput } from '@meridian/core/edge-settings'
import { newKeyRingText, type RegionSettingsInput } from '@meridian/regions'
import type { ReplicationSettingsInput } from '@meridian/replication'
import type { EdgeRuntime, LocalEdge } from './edge.ts'
import { startEdge } from './edge-start.ts'
import { startObservability } from './observe.ts'
import type { ServiceProcess } from './processes.ts'
import type { LocalPrometheus } from './prometheus.ts'
import {
  localPorts,
  newEdgeSecret,
  type RegionServices,
  startRegionServices,
  startReplicationService,
  startSimulators,
} from './services.ts'
import type { Supervised } from './supervise.ts'
import { startTopology, type Topology } from './topology.ts'
import { startUpstashStandIn, type UpstashStandIn } from './upstash.ts'

/** Everything `pnpm start` runs: the whole local gateway, from Kafka brokers to the edge. */
export interface Gateway {
  readonly topology: Topology
  readonly services: readonly RegionServices[]
  readonly simulators: {
    readonly process: ServiceProcess
    readonly urls: Readonly<Record<string, string>>
  }
  readonly replication: readonly {
    readonly region: string
    readonly service: Supervised
    readonly statusUrl: string
  }[]
  readonly upstash: UpstashStandIn
  readonly edge: LocalEdge
  /** `observe`: Prometheus scraping every service, or why it is not running. */
  readonly observability?: { readonly prometheus?: LocalPrometheus; readonly problem?: string }
  /** What this run generated to share between its services (tests check no log holds them). */
  readonly secrets: { readonly edgeSecret: string; readonly webhookSecretKeys: string }
  stop(): Promise<void>
}

export interface GatewayOptions {
  readonly log: (line: string) => void
  readonly verbose?: boolean
  /** Without verbose, pass the services' warnings to `log` too, not only their errors. */
  readonly warnings?: boolean
  readonly edgePort?: number
  /** Where the edge worker runs (see EdgeRuntime); wrangler dev unless said. */
  readonly edgeRuntime?: EdgeRuntime
  /** Edge settings over the local ones (drills shorten failback, for instance). */
  readonly edgeSettings?: EdgeSettingsInput
  /** Region settings over the local ones (drills compress timers). */
  readonly regionSettings?: RegionSettingsInput
  /** Replication settings over the local ones (drills switch on link control). */
  readonly replicationSettings?: ReplicationSettingsInput
  /** Database and Redis key prefixes (drills keep theirs apart from `pnpm start`'s). */
  readonly prefix?: string
  readonly simulatorSeed?: number
  /** What the edge calls for a region: its API, or something the caller puts in front of it. */
  readonly regionOrigin?: (region: string, apiUrl: string) => Promise<string>
  /** Start services that exit on their own again (pnpm start). Drills leave it off: a crash
   * during a drill is a finding. */
  readonly restartCrashed?: boolean
  /** Also run Prometheus over every service, with the alert rules (pnpm start --observe). */
  readonly observe?: boolean
}

/** How often the local topology runs the edge's scheduled health probes (cron is per minute). */
export const probeIntervalMs = 2000

/**
 * Start one service per region, all together (regions are independent of each other). Each is
 * added to `started` as soon as it is up, so a failed start still leaves the others to stop;
 * then `started` is put in topology order.
 */
async function inEveryRegion<T>(
  topology: Topology,
  started: T[],
  start: (region: Topology['regions'][number]) => Promise<T>,
): Promise<void> {
  const rank = new Map<T, number>()
  await Promise.all(
    topology.regions.map(async (region, i) => {
      const service = await start(region)
      rank.set(service, i)
      started.push(service)
    }),
  )
  started.sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0))
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { log, verbose = false, warnings = false } = options
  const stops: (() => Promise<void>)[] = []
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {})
  }
  try {
    const topology = await startTopology({
      log,
      ...(options.prefix ? { databasePrefix: options.prefix, redisPrefix: options.prefix } : {}),
    })
    stops.push(() => topology.stop())
    const edgeSecret = newEdgeSecret()
    // Fresh per run, like the databases: the key that seals webhook secrets at rest.
    const webhookSecretKeys = newKeyRingText()
    const simulators = await startSimulators({
      log,
      verbose,
      ...(options.simulatorSeed === undefined ? {} : { seed: options.simulatorSeed }),
    })
    stops.push(() => simulators.process.stop())
    // The edge's global Redis, which the regions also use to agree on processors: up first.
    const upstash = await startUpstashStandIn({ token: randomBytes(16).toString('hex') })
    stops.push(() => upstash.close())
    const services: RegionServices[] = []
    stops.push(async () => {
      await Promise.allSettled(services.map((s) => s.stop()))
    })
    await inEveryRegion(topology, services, async (region) =>
      startRegionServices(region, {
        edgeSecret,
        webhookSecretKeys,
        processorUrls: simulators.urls,
        processorPins: { url: upstash.url, token: upstash.token, prefix: topology.pinsPrefix },
        log,
        verbose,
        warnings,
        restartCrashed: options.restartCrashed ?? false,
        serveMetrics: options.observe ?? false,
        ...(options.regionSettings ? { regionSettings: options.regionSettings } : {}),
      }),
    )
    const replication: { region: string; service: Supervised; statusUrl: string }[] = []
    stops.push(async () => {
      await Promise.allSettled(replication.map((r) => r.service.stop()))
    })
    await inEveryRegion(topology, replication, async (region) => {
      const peers = topology.regions.filter((r) => r.id !== region.id)
      return {
        region: region.id,
        ...(await startReplicationService(region, peers, {
          log,
          verbose,
          warnings,
          restartCrashed: options.restartCrashed ?? false,
          ...(options.replicationSettings
            ? { replicationSettings: options.replicationSettings }
            : {}),
        })),
      }
    })
    const edge = await startEdge({
      ...(options.edgeRuntime ? { runtime: options.edgeRuntime } : {}),
      port: options.edgePort ?? localPorts.edge,
      stateDir: join(topology.dataDir, 'edge'),
      edgeSecret,
      regionOrigins: Object.fromEntries(
        await Promise.all(
          services.map(async (s) => [
            s.region.id,
            options.regionOrigin ? await options.regionOrigin(s.region.id, s.apiUrl) : s.apiUrl,
          ]),
        ),
      ),
      upstash,
      log,
      verbose,
      warnings,
      ...(options.edgeSettings ? { settings: options.edgeSettings } : {}),
    })
    stops.push(() => edge.stop())
    const timer = setInterval(() => void edge.probe(), probeIntervalMs)
    stops.push(async () => clearInterval(timer))
    const observability = options.observe
      ? await startObservability({
          regionIds: topology.regions.map((r) => r.id),
          stateDir: topology.dataDir,
          log,
        })
      : undefined
    const prometheus = observability?.prometheus
    if (prometheus) stops.push(() => prometheus.stop())
    return {
      topology,
      services,
      simulators,
      replication,
      upstash,
      edge,
      ...(observability ? { observability } : {}),
      secrets: { edgeSecret, webhookSecretKeys },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
