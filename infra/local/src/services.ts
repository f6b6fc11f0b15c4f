import { randomBytes } from 'node:crypto'
import { fleet } from '@meridian/core'
import { type ServiceProcess, spawnService } from './processes.ts'
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

/** The region roles `pnpm start` runs as separate processes (ROLES of each). */
export const regionRoles = {
  api: 'api',
  relay: 'relay',
  workers: 'workers',
  'webhooks+reconciler': 'webhooks,reconciler',
} as const
export type RegionRole = keyof typeof regionRoles

export interface RegionServices {
  readonly region: LocalRegion
  readonly apiUrl: string
  /** The live processes (a role killed and started again is replaced here). */
  readonly processes: ServiceProcess[]
  /** SIGKILL one role's process: a crash, as drills make them. */
  kill(role: RegionRole): Promise<void>
  /** Start a role again with the environment it had. */
  start(role: RegionRole): Promise<void>
}

export function replicationPort(regionId: string): number {
  return localPorts.replicationBase + 1 + fleet.regions.findIndex((r) => r.id === regionId)
}

/**
 * Each region's replication process (heartbeat, a replicator per other region, the applier),
 * started once every region's services are up: it reads the other regions' clusters.
 */
export async function startReplicationService(
  region: LocalRegion,
  peers: readonly LocalRegion[],
  options: Pick<ServiceOptions, 'log' | 'verbose' | 'warnings' | 'extraEnv'>,
): Promise<{ process: ServiceProcess; statusUrl: string }> {
  const onLine = (line: string) => options.log(`[${region.id} replication] ${line}`)
  const process = await spawnService({
    name: `${region.id} replication`,
    entry: 'replication/src/main.ts',
    readyEvent: 'replication.ready',
    env: {
      REGION: region.id,
      REGION_DATABASE_URL: region.databaseUrl,
      KAFKA_BROKERS: region.kafka.bootstrap,
      PEER_KAFKA: peers.map((p) => `${p.id}=${p.kafka.bootstrap}`).join(','),
      REPLICATION_PORT: String(replicationPort(region.id)),
      LOG_LEVEL: options.verbose ? 'info' : 'warn',
      ...options.extraEnv,
    },
    onLine: serviceLines(options, onLine),
  })
  return { process, statusUrl: `http://127.0.0.1:${replicationPort(region.id)}/replication/status` }
}

export interface ServiceOptions {
  readonly edgeSecret: string
  /** Processor name → simulator URL. */
  readonly processorUrls: Readonly<Record<string, string>>
  readonly log: (line: string) => void
  /** Print the services' own log lines (JSON) as they come. */
  readonly verbose?: boolean
  /** Without verbose, pass on warnings as well as errors (drills keep them for their reports). */
  readonly warnings?: boolean
  readonly extraEnv?: Readonly<Record<string, string>>
}

/** Which of a service's lines reach the log: all when verbose, else its errors (and warnings). */
function serviceLines(
  options: Pick<ServiceOptions, 'verbose' | 'warnings'>,
  onLine: (line: string) => void,
): (line: string) => void {
  if (options.verbose) return onLine
  const wanted = options.warnings ? /"level":"(warn|error|fatal)"/ : /"level":"(error|fatal)"/
  return (line) => {
    if (wanted.test(line)) onLine(line)
  }
}

function regionEnv(region: LocalRegion, options: ServiceOptions): Record<string, string> {
  return {
    REGION: region.id,
    REGION_DATABASE_URL: region.databaseUrl,
    REDIS_PREFIX: region.redisPrefix,
    KAFKA_BROKERS: region.kafka.bootstrap,
    EDGE_SECRET: options.edgeSecret,
    PROCESSOR_URLS: Object.entries(options.processorUrls)
      .map(([name, url]) => `${name}=${url}`)
      .join(','),
    LOG_LEVEL: options.verbose ? 'info' : 'warn',
    ...options.extraEnv,
  }
}

/**
 * One region's services as separate processes, as infra deploys them: the API (fast path), the
 * outbox relay, the processor workers, and webhooks with the reconciler.
 */
export async function startRegionServices(
  region: LocalRegion,
  options: ServiceOptions,
): Promise<RegionServices> {
  const env = regionEnv(region, options)
  const onLine = (line: string) => options.log(`[${region.id}] ${line}`)
  const running = new Map<RegionRole, ServiceProcess>()
  const processes: ServiceProcess[] = []
  const spawnRole = async (role: RegionRole) => {
    const process = await spawnService({
      name: `${region.id} ${role}`,
      entry: 'regions/src/main.ts',
      readyEvent: 'region.ready',
      env: {
        ...env,
        ROLES: regionRoles[role],
        ...(role === 'api' ? { PORT: String(regionApiPort(region.id)) } : {}),
      },
      onLine: serviceLines(options, onLine),
    })
    running.set(role, process)
    processes.push(process)
  }
  try {
    for (const role of Object.keys(regionRoles) as RegionRole[]) await spawnRole(role)
  } catch (error) {
    await Promise.all(processes.map((p) => p.stop()))
    throw error
  }
  return {
    region,
    apiUrl: `http://127.0.0.1:${regionApiPort(region.id)}`,
    processes,
    async kill(role) {
      const process = running.get(role)
      running.delete(role)
      if (!process) return
      await process.stop('SIGKILL')
      processes.splice(processes.indexOf(process), 1)
    },
    async start(role) {
      if (running.has(role)) throw new Error(`${region.id} ${role} is already running`)
      await spawnRole(role)
    },
  }
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
    entry: 'regions/src/sim/main.ts',
    readyEvent: 'sim.ready',
    env: {
      SIM_PORT_BASE: String(localPorts.simulatorBase),
      ...(options.seed === undefined ? {} : { SIM_SEED: String(options.seed) }),
    },
    ...(options.verbose ? { onLine: (l: string) => options.log(`[sim] ${l}`) } : {}),
  })
  return { process: sims, urls: sims.ready.urls as Record<string, string> }
}
