/**
 * `pnpm start`: the local three-region gateway. Checks prerequisites, starts every component,
 * prints the endpoints, and on Ctrl-C (or SIGTERM) stops every child process before exiting.
 */
import { describeProblems, findProblems } from './prerequisites.ts'
import { startTopology, type Topology } from './topology.ts'

const log = (line: string) => process.stdout.write(`${line}\n`)

function redactUrl(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

function printEndpoints(topology: Topology): void {
  log('')
  log('Meridian local topology is up:')
  for (const region of topology.regions) {
    log(
      `  ${region.id.padEnd(9)} kafka ${region.kafka.bootstrap.padEnd(16)} postgres ${redactUrl(region.databaseUrl)}  redis ${region.redisUrl} (prefix ${region.redisPrefix})`,
    )
  }
  log('')
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
  printEndpoints(topology)
  log(`(started in ${((Date.now() - started) / 1000).toFixed(1)} s)`)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log(`\n${signal}: stopping every component…`)
    await topology.stop()
    log('stopped.')
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

main().catch((error: unknown) => {
  process.stderr.write(`meridian: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
