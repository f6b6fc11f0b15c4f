import { join } from 'node:path'
import type { ScrapeTarget } from '@meridian/observability'
import { type LocalPrometheus, startPrometheus } from './prometheus.ts'
import {
  localPorts,
  type RegionRole,
  regionApiPort,
  regionMetricsPort,
  regionRoles,
  replicationPort,
} from './services.ts'

/**
 * Every process of the local topology that serves /metrics, from the ports the topology gives
 * them: each region's API and its other roles (with serveMetrics), and its replication process.
 * The processor simulators and the edge worker export no metrics.
 */
export function localScrapeTargets(regionIds: readonly string[]): ScrapeTarget[] {
  return regionIds.flatMap((region) => [
    ...(Object.keys(regionRoles) as RegionRole[]).map((role) => ({
      job: 'meridian-region',
      address: `127.0.0.1:${role === 'api' ? regionApiPort(region) : regionMetricsPort(region, role)}`,
      labels: { region, role },
    })),
    {
      job: 'meridian-replication',
      address: `127.0.0.1:${replicationPort(region)}`,
      labels: { region },
    },
  ])
}

/** `--observe`: Prometheus over the whole topology, its state in the run's state dir. */
export async function startObservability(options: {
  readonly regionIds: readonly string[]
  readonly stateDir: string
  readonly log: (line: string) => void
}): Promise<{ prometheus?: LocalPrometheus; problem?: string }> {
  const started = await startPrometheus({
    dir: join(options.stateDir, 'prometheus'),
    port: localPorts.prometheus,
    targets: localScrapeTargets(options.regionIds),
  })
  if ('problem' in started) {
    options.log(`--observe: Prometheus not started: ${started.problem}; going on without it.`)
    return { problem: started.problem }
  }
  options.log(`prometheus: up at ${started.running.url} (config ${started.running.configFile})`)
  return { prometheus: started.running }
}
