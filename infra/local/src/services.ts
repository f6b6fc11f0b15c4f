import { randomBytes } from 'node:crypto'
import { fleet, Secret } from '@meridian/core'
import { simulatorSettings } from '@meridian/processor-sim'
import {
  keyRingFromText,
  type RegionSettingsInput,
  type Role,
  regionSettings,
} from '@meridian/regions'
import { type ReplicationSettingsInput, replicationSettings } from '@meridian/replication'
import { type ServiceProcess, serviceLines, spawnService } from './processes.ts'
import { type Supervised, supervise, unsupervised } from './supervise.ts'
import type { LocalRegion } from './topology.ts'

/** Fixed local ports, so the printed endpoints and curl lines stay the same run to run. */
export const localPorts = {
  /** Region APIs: base + index in the fleet registry (us-east 4101, eu-west 4102, …). */
  regionApiBase: Number(process.env.MERIDIAN_PORT_BASE ?? 4100),
  /** Processor simulators: base + 1, 2, 3 (acquirer-rest, network-a, network-b). */
  simulatorBase: Number(process.env.MERIDIAN_PORT_BASE ?? 4100) + 100,
  /** Replication status: base + 201, 202, 203 (GET /replication/status, /metrics). */
  replicationBase: Number(process.env.MERIDIAN_PORT_BASE ?? 4100) + 200,
  /** The edge (wrangler dev). */
  edge: Number(process.env.MERIDIAN_EDGE_PORT ?? 8787),
  /** /metrics of the region processes without the API (--observe): base + 300 + see below. */
  regionMetricsBase: Number(process.env.MERIDIAN_PORT_BASE ?? 4100) + 300,
  /** Prometheus under --observe; not 9090, where a Debian install may run its own. */
  prometheus: Number(process.env.MERIDIAN_PORT_BASE ?? 4100) + 390,
}

export function regionApiPort(regionId: string): number {
  const index = fleet.regions.findIndex((r) => r.id === regionId)
  if (index < 0) throw new Error(`${regionId} is not in the fleet registry`)
  return localPorts.regionApiBase + 1 + index
}

/** The secret the edge signs with and regions verify; fresh for every local topology. */
export function newEdgeSecret(): string {
  return randomBytes(32).toString('hex')
}

/** The region roles `pnpm start` runs as separate processes (the roles of each). */
export const regionRoles = {
  api: ['api'],
  relay: ['relay'],
  workers: ['workers'],
  'webhooks+reconciler': ['webhooks', 'reconciler'],
} as const satisfies Record<string, readonly Role[]>
export type RegionRole = keyof typeof regionRoles

/**
 * Where a region process without the API serves /metrics: relay 4411–4413, workers 4421–4423,
 * webhooks+reconciler 4431–4433 (by the role's place in regionRoles, then the region's).
 */
export function regionMetricsPort(regionId: string, role: Exclude<RegionRole, 'api'>): number {
  const roleIndex = Object.keys(regionRoles).indexOf(role)
  return (
    localPorts.regionMetricsBase +
    10 * roleIndex +
    (regionApiPort(regionId) - localPorts.regionApiBase)
  )
}

/** Where a local region's services find its Kafka cluster, database and Redis keys. */
export type RegionAddress = Pick<LocalRegion, 'id' | 'databaseUrl' | 'redisPrefix'> & {
  readonly kafka: { readonly bootstrap: string }
}

export interface RegionServices {
  readonly region: LocalRegion
  readonly apiUrl: string
  /** SIGKILL one role's process: a crash, as drills make them (not restarted by supervision). */
  kill(role: RegionRole): Promise<void>
  /** Start a role again with the environment it had. */
  start(role: RegionRole): Promise<void>
  /**
   * SIGSTOP (or SIGCONT) one role's process: alive, holding its connections, answering nothing,
   * as a hung process is (a GC pause, a stalled disk); drills hang a region this way.
   */
  signal(role: RegionRole, signal: 'SIGSTOP' | 'SIGCONT'): void
  /** The process now running `role` (benches read its CPU time); undefined while it is down. */
  pid(role: RegionRole): number | undefined
  /** Stop every role (and any restarting). */
  stop(): Promise<void>
}

export function replicationPort(regionId: string): number {
  return localPorts.replicationBase + 1 + fleet.regions.findIndex((r) => r.id === regionId)
}

/** The environment of a region's replication process, from its settings. */
export function replicationEnv(
  region: RegionAddress,
  peers: readonly RegionAddress[],
  options: Pick<ServiceOptions, 'verbose' | 'replicationSettings'>,
): Record<string, string> {
  return replicationSettings.toEnv({
    region: region.id,
    databaseUrl: region.databaseUrl,
    kafkaBrokers: [region.kafka.bootstrap],
    peers: Object.fromEntries(peers.map((p) => [p.id, [p.kafka.bootstrap]])),
    port: replicationPort(region.id),
    logLevel: options.verbose ? 'info' : 'warn',
    ...options.replicationSettings,
  })
}

/**
 * Each region's replication process (heartbeat, a replicator per other region, the applier),
 * started once every region's services are up: it reads the other regions' clusters.
 */
export async function startReplicationService(
  region: LocalRegion,
  peers: readonly LocalRegion[],
  options: Pick<
    ServiceOptions,
    'log' | 'verbose' | 'warnings' | 'replicationSettings' | 'restartCrashed'
  >,
): Promise<{ service: Supervised; statusUrl: string }> {
  const onLine = (line: string) => options.log(`[${region.id} replication] ${line}`)
  const name = `${region.id} replication`
  const spawn = () =>
    spawnService({
      name,
      entry: replicationSettings.entryPoint,
      readyEvent: 'replication.ready',
      env: replicationEnv(region, peers, options),
      onLine: serviceLines(options, onLine),
    })
  return {
    service: await keepUp(spawn, name, options),
    statusUrl: `http://127.0.0.1:${replicationPort(region.id)}/replication/status`,
  }
}

export interface ServiceOptions {
  readonly edgeSecret: string
  /** WEBHOOK_SECRET_KEYS for every region (one ring: sealed secrets replicate). */
  readonly webhookSecretKeys: string
  /** Where regions agree on a payment's processor: the Upstash stand-in, as the edge's. */
  readonly processorPins: { readonly url: string; readonly token: string; readonly prefix: string }
  /** Processor name → simulator URL. */
  readonly processorUrls: Readonly<Record<string, string>>
  readonly log: (line: string) => void
  /** Print the services' own log lines (JSON) as they come. */
  readonly verbose?: boolean
  /** Without verbose, pass on warnings as well as errors (drills keep them for their reports). */
  readonly warnings?: boolean
  /** Settings of every region process over the local ones (drills compress timers). */
  readonly regionSettings?: RegionSettingsInput
  /** Settings of every replication process over the local ones (drills switch on link control). */
  readonly replicationSettings?: ReplicationSettingsInput
  /** Start a service that exits on its own again, with backoff (pnpm start; drills: off). */
  readonly restartCrashed?: boolean
  /** Region processes without the API serve /metrics too (regionMetricsPort): --observe. */
  readonly serveMetrics?: boolean
}

/** The environment of one of a local region's processes (`role`), from its settings. */
export function regionEnv(
  region: RegionAddress,
  role: RegionRole,
  options: Pick<
    ServiceOptions,
    | 'edgeSecret'
    | 'webhookSecretKeys'
    | 'processorPins'
    | 'processorUrls'
    | 'verbose'
    | 'regionSettings'
    | 'serveMetrics'
  >,
): Record<string, string> {
  const pins = options.processorPins
  return regionSettings.toEnv({
    region: region.id,
    databaseUrl: region.databaseUrl,
    redisPrefix: region.redisPrefix,
    kafkaBrokers: [region.kafka.bootstrap],
    edgeSecret: new Secret(options.edgeSecret),
    webhookSecretKeys: keyRingFromText(options.webhookSecretKeys),
    // One register for the gateway's regions (pnpm start's and a drill's apart).
    processorPins: { url: pins.url, token: new Secret(pins.token), prefix: pins.prefix },
    processorUrls: options.processorUrls,
    logLevel: options.verbose ? 'info' : 'warn',
    // Local receivers listen on localhost; the cloud stacks never set this.
    webhookAllowLoopback: true,
    ...options.regionSettings,
    roles: Object.fromEntries(regionRoles[role].map((r) => [r, true])),
    ...(role === 'api' ? { port: regionApiPort(region.id) } : {}),
    ...(role !== 'api' && options.serveMetrics
      ? { metricsPort: regionMetricsPort(region.id, role) }
      : {}),
  })
}

/**
 * One region's services as separate processes, as infra deploys them: the API (fast path), the
 * outbox relay, the processor workers, and webhooks with the reconciler.
 */
export async function startRegionServices(
  region: LocalRegion,
  options: ServiceOptions,
): Promise<RegionServices> {
  const onLine = (line: string) => options.log(`[${region.id}] ${line}`)
  const running = new Map<RegionRole, Supervised>()
  const spawnRole = async (role: RegionRole) => {
    const name = `${region.id} ${role}`
    const spawn = () =>
      spawnService({
        name,
        entry: regionSettings.entryPoint,
        readyEvent: 'region.ready',
        env: regionEnv(region, role, options),
        onLine: serviceLines(options, onLine),
      })
    running.set(role, await keepUp(spawn, name, options))
  }
  const stop = async () => {
    const all = [...running.values()]
    running.clear()
    await Promise.allSettled(all.map((s) => s.stop()))
  }
  try {
    for (const role of Object.keys(regionRoles) as RegionRole[]) await spawnRole(role)
  } catch (error) {
    await stop()
    throw error
  }
  return {
    region,
    apiUrl: `http://127.0.0.1:${regionApiPort(region.id)}`,
    async kill(role) {
      const service = running.get(role)
      running.delete(role)
      await service?.stop('SIGKILL')
    },
    async start(role) {
      if (running.has(role)) throw new Error(`${region.id} ${role} is already running`)
      await spawnRole(role)
    },
    signal(role, signal) {
      const pid = running.get(role)?.current()?.pid
      if (pid === undefined || pid < 0) throw new Error(`${region.id} ${role} is not running`)
      process.kill(pid, signal)
    },
    pid: (role) => running.get(role)?.current()?.pid,
    stop,
  }
}

/** Supervised when `restartCrashed` (pnpm start), else as it is (drills count crashes). */
async function keepUp(
  spawn: () => Promise<ServiceProcess>,
  name: string,
  options: Pick<ServiceOptions, 'restartCrashed' | 'log'>,
): Promise<Supervised> {
  if (!options.restartCrashed) return unsupervised(await spawn())
  return supervise(spawn, { name, log: options.log })
}

/** The environment of the processor simulators' process, from their settings. */
export function simulatorEnv(options: { seed?: number }): Record<string, string> {
  return simulatorSettings.toEnv({
    portBase: localPorts.simulatorBase,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  })
}

/** Processor simulators shared by every region (third parties are global), one process. */
export async function startSimulators(options: {
  log: (line: string) => void
  verbose?: boolean
  /** Makes the simulators' random faults replay exactly (drills pass their --seed). */
  seed?: number
}) {
  const sims = await spawnService({
    name: 'processor simulators',
    entry: simulatorSettings.entryPoint,
    readyEvent: 'sim.ready',
    env: simulatorEnv(options),
    ...(options.verbose ? { onLine: (l: string) => options.log(`[sim] ${l}`) } : {}),
  })
  return { process: sims, urls: sims.ready.urls as Record<string, string> }
}
