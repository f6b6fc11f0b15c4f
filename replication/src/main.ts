/**
 * One region's replication process: `REGION=eu-west KAFKA_BROKERS=… PEER_KAFKA=us-east=…,ap-south=…
 * tsx replication/src/main.ts`. Runs the heartbeat, a replicator per other region and the applier,
 * and serves /replication/status and /metrics on REPLICATION_PORT. SIGTERM stops it cleanly.
 */
import { createLogger, exitWithParent } from '@meridian/platform'
import { fromEnv } from './config.ts'
import { startReplication } from './service.ts'

async function main(): Promise<void> {
  const config = fromEnv(process.env)
  const log = createLogger(
    { region: config.region, role: 'replication', pid: process.pid },
    config.logLevel,
  )
  const running = await startReplication(config, log)
  process.stdout.write(
    `${JSON.stringify({ event: 'replication.ready', region: config.region, url: running.url ?? null })}\n`,
  )
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

exitWithParent()
main().catch((error: unknown) => {
  process.stderr.write(`replication: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
