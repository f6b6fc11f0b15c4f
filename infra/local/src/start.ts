/**
 * `pnpm start`: the local three-region gateway. Checks prerequisites, starts every component,
 * prints the endpoints, and on Ctrl-C (or SIGTERM) stops every child process before exiting.
 */
import { describeProblems, findProblems } from './prerequisites.ts'
import type { ServiceProcess } from './processes.ts'
import {
  newEdgeSecret,
  type RegionServices,
  startRegionServices,
  startSimulators,
} from './services.ts'
import { startTopology, type Topology } from './topology.ts'

const log = (line: string) => process.stdout.write(`${line}\n`)
const verbose = process.argv.includes('--verbose')

function redactUrl(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

function printEndpoints(
  topology: Topology,
  services: readonly RegionServices[],
  sims: Record<string, string>,
): void {
  log('')
  log('Meridian local topology is up:')
  for (const region of topology.regions) {
    const api = services.find((s) => s.region.id === region.id)?.apiUrl ?? '-'
    log(`  ${region.id.padEnd(9)} api ${api}  kafka ${region.kafka.bootstrap}`)
    log(
      `  ${''.padEnd(9)} postgres ${redactUrl(region.databaseUrl)}  redis ${region.redisUrl} (prefix ${region.redisPrefix})`,
    )
  }
  log(
    `  processor simulators: ${Object.entries(sims)
      .map(([n, u]) => `${n} ${u}`)
      .join('  ')}`,
  )
  log('    (faults: POST <url>/_sim/faults, what they did: GET <url>/_sim/stats)')
  log('')
  log('Region APIs accept only requests signed by the edge; health, readiness, metrics and')
  log('the OpenAPI document are open: curl http://127.0.0.1:4101/readyz')
  log('Press Ctrl-C to stop everything.')
}

async function main(): Promise<void> {
  const started = Date.now()
  const problems = await findProblems()
  if (problems.length > 0) {
    process.stderr.write(`${describeProblems(problems)}\n`)
    process.exit(1)
  }
  const topology = await startTopology({ log })
  const edgeSecret = newEdgeSecret()
  let simulatorUrls: Record<string, string> = {}
  const services: RegionServices[] = []
  const others: ServiceProcess[] = []
  let stopping = false
  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return
    stopping = true
    log(`\n${signal}: stopping every component…`)
    await Promise.allSettled(services.flatMap((s) => s.processes.map((p) => p.stop())))
    await Promise.allSettled(others.map((p) => p.stop()))
    await topology.stop()
    log('stopped.')
    process.exit(exitCode)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  try {
    const sims = await startSimulators({ log, verbose })
    others.push(sims.process)
    simulatorUrls = sims.urls
    for (const region of topology.regions) {
      services.push(
        await startRegionServices(region, { edgeSecret, processorUrls: sims.urls, log, verbose }),
      )
    }
  } catch (error) {
    process.stderr.write(
      `meridian: start-up failed: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    await shutdown('start-up failed', 1)
  }
  printEndpoints(topology, services, simulatorUrls)
  log(`(started in ${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

main().catch((error: unknown) => {
  process.stderr.write(`meridian: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
