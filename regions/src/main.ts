/**
 * One region process: `REGION=us-east KAFKA_BROKERS=… EDGE_SECRET=… tsx regions/src/main.ts`.
 * See config.ts for every variable. SIGTERM/SIGINT stop it gracefully.
 *
 * `apiWorkers` > 1 (API_WORKERS) runs the API in that many worker processes sharing one port
 * (node:cluster), one per core; the primary keeps the other roles (the relay), so they run
 * exactly once.
 */
import cluster from 'node:cluster'
import { createLogger, exitWithParent } from '@meridian/platform'
import { fromEnv, type RegionConfig, toEnv } from './config.ts'
import { startRegion } from './region.ts'

function announce(url: string | undefined, region: string): void {
  // Parents (the local topology, tests) read this line to learn the port.
  process.stdout.write(`${JSON.stringify({ event: 'region.ready', region, url: url ?? null })}\n`)
}

function onSignals(stop: (signal: string) => void): void {
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

async function single(config: RegionConfig): Promise<void> {
  const log = createLogger({ region: config.region, pid: process.pid }, config.logLevel)
  const region = await startRegion(config, log)
  if (cluster.isWorker) process.send?.({ url: region.url })
  else announce(region.url, config.region)
  let stopping = false
  onSignals((signal) => {
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    region.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('unclean stop', { error })
        process.exit(1)
      },
    )
  })
}

async function primary(config: RegionConfig): Promise<void> {
  const log = createLogger(
    { region: config.region, pid: process.pid, role: 'primary' },
    config.logLevel,
  )
  // Each worker inherits this environment and runs the API alone.
  const workerEnv = toEnv({ roles: { api: true } })
  const workers = Array.from({ length: config.apiWorkers }, () => cluster.fork(workerEnv))
  const urls = await Promise.all(
    workers.map(
      (w) =>
        new Promise<string>((resolve, reject) => {
          w.once('message', (m: { url: string }) => resolve(m.url))
          w.once('exit', (code) => reject(new Error(`api worker exited (${code}) during start-up`)))
        }),
    ),
  )
  const rest = await startRegion({ ...config, roles: { ...config.roles, api: false } }, log)
  announce(urls[0], config.region)
  cluster.on('exit', (worker, code) => {
    if (!stopping)
      log.error('api worker died; stopping the region so its supervisor restarts it', {
        pid: worker.process.pid,
        code,
      })
    if (!stopping) stop('worker exit')
  })
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    const exited = workers.map(
      (w) => new Promise((r) => (w.isDead() ? r(null) : w.once('exit', r))),
    )
    for (const w of workers) w.kill('SIGTERM')
    Promise.all(exited)
      .then(() => rest.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error('unclean stop', { error })
          process.exit(1)
        },
      )
  }
  onSignals(stop)
}

exitWithParent()
async function run(): Promise<void> {
  const config = fromEnv(process.env)
  await (cluster.isPrimary && config.apiWorkers > 1 ? primary(config) : single(config))
}

run().catch((error: unknown) => {
  process.stderr.write(`region: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
