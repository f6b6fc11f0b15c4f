import type { EdgeRuntime } from '../edge.ts'
import { startGateway } from '../gateway.ts'
import type { LatencyProxy } from './latency-proxy.ts'
import {
  DrillTopology,
  drillEdgeSettings,
  drillPrefix,
  drillRegionSettings,
  drillReplicationSettings,
  proxiedOrigin,
} from './topology.ts'

/**
 * The drills' own local gateway: the same components as `pnpm start`, with a latency proxy
 * between the edge and each region, replication links switchable, timers shortened. The edge runs
 * on one workerd by default, as in production: wrangler dev's proxy costs ~14 ms of CPU and tens
 * of milliseconds per request, and a drill measures the gateway, not the developer tooling.
 */
export async function startDrillTopology(options: {
  seed: number
  /** The edge on workerd as production runs it (the default), or under wrangler dev as `pnpm start` runs it. */
  edgeRuntime: EdgeRuntime
  verbose: boolean
  /** Where the services' lines go: every line when verbose, else their warnings and errors. */
  serviceLog: (line: string) => void
}): Promise<DrillTopology> {
  const proxies = new Map<string, LatencyProxy>()
  const gateway = await startGateway({
    log: options.serviceLog,
    verbose: options.verbose,
    warnings: true,
    prefix: drillPrefix,
    simulatorSeed: options.seed,
    edgeRuntime: options.edgeRuntime,
    edgeSettings: drillEdgeSettings,
    regionSettings: drillRegionSettings,
    replicationSettings: drillReplicationSettings,
    regionOrigin: proxiedOrigin(proxies),
  })
  return new DrillTopology(gateway, proxies)
}
