import { startGateway } from '../gateway.ts'
import type { LatencyProxy } from './latency-proxy.ts'
import {
  DrillTopology,
  drillEdgeVars,
  drillPrefix,
  drillRegionEnv,
  proxiedOrigin,
} from './topology.ts'

/**
 * The drills' own local gateway: the same components as `pnpm start`, with a latency proxy
 * between the edge and each region, replication links switchable, timers shortened.
 */
export async function startDrillTopology(options: {
  seed: number
  verbose: boolean
  log: (line: string) => void
}): Promise<DrillTopology> {
  const proxies = new Map<string, LatencyProxy>()
  const gateway = await startGateway({
    log: options.verbose ? options.log : () => {},
    verbose: options.verbose,
    prefix: drillPrefix,
    simulatorSeed: options.seed,
    edgeVars: drillEdgeVars,
    regionEnv: drillRegionEnv,
    replicationEnv: { REPLICATION_CONTROL: '1' },
    regionOrigin: proxiedOrigin(proxies),
  })
  return new DrillTopology(gateway, proxies)
}
