import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prometheusConfig, rulesFile, type ScrapeTarget } from '@meridian/observability'

export const prometheusStartMsMax = 30_000
const prometheusStopMsMax = 10_000
/** Scrapes (and rule evaluations) this often: a local run should show a change within seconds. */
export const localScrapeIntervalS = 5

/** What to do when the binary is missing: one line, as the prerequisites say theirs. */
export const prometheusInstall =
  "`prometheus` is not on PATH: install Debian's package (apt-get install prometheus)"

export interface LocalPrometheus {
  readonly url: string
  /** The generated prometheus.yml (in the run's state dir). */
  readonly configFile: string
  readonly logFile: string
  stop(): Promise<void>
}

export interface PrometheusOptions {
  /** Where its configuration, log and data go (removed with the topology's state dir). */
  readonly dir: string
  readonly port: number
  readonly targets: readonly ScrapeTarget[]
  /** The executable; a test points it at one that does not exist. */
  readonly binary?: string
}

/**
 * Prometheus (the binary on PATH, Debian's package) scraping `targets` with Meridian's alert
 * rules loaded. Resolves with a problem, not an error, when it is missing or does not start:
 * observing is optional, the gateway runs on without it.
 */
export async function startPrometheus(
  options: PrometheusOptions,
): Promise<{ running: LocalPrometheus } | { problem: string }> {
  const binary = options.binary ?? 'prometheus'
  if (spawnSync(binary, ['--version']).error !== undefined) return { problem: prometheusInstall }
  mkdirSync(options.dir, { recursive: true })
  const configFile = join(options.dir, 'prometheus.yml')
  const logFile = join(options.dir, 'prometheus.log')
  writeFileSync(
    configFile,
    prometheusConfig({
      targets: options.targets,
      ruleFiles: [rulesFile],
      scrapeIntervalS: localScrapeIntervalS,
    }),
  )
  const url = `http://127.0.0.1:${options.port}`
  const out = openSync(logFile, 'a')
  // run-tied.sh stops it if this process dies, as it does the Kafka brokers.
  const child = spawn(
    fileURLToPath(new URL('../bin/run-tied.sh', import.meta.url)),
    [
      binary,
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(options.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      '--storage.tsdb.retention.time=1d',
    ],
    // Its own process group, so stop() reaches the wrapper and Prometheus together.
    { stdio: ['ignore', out, out], detached: true },
  )
  closeSync(out)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const running: LocalPrometheus = { url, configFile, logFile, stop: () => stop(child, exited) }
  const ready = await waitReady(url, child)
  if (ready) return { running }
  await running.stop()
  return { problem: `Prometheus did not start (log ${logFile}):\n${tail(logFile)}` }
}

async function waitReady(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + prometheusStartMsMax
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return true
    await new Promise((r) => setTimeout(r, 200))
  }
  return false
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return
  const group = -child.pid
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(group, s)
    } catch {
      // Already gone between the check and the signal.
    }
  }
  signal('SIGTERM')
  const timer = setTimeout(() => signal('SIGKILL'), prometheusStopMsMax)
  await exited
  clearTimeout(timer)
}

function tail(file: string): string {
  if (!existsSync(file)) return '(no log)'
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n')
}
