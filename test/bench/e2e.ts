/**
 * `pnpm bench:e2e`: the public API end to end through the edge, on the local three-region gateway
 * as `pnpm start` runs it (startGateway), with one sample merchant's API key. After the gateway
 * settles it measures every process's CPU while idle; then, per rate (20 and 100 payments/s,
 * open loop), each payment is created with manual capture, captured once authorized, refunded
 * once captured (see e2e-flow.ts), and it prints p50/p99/p999 and errors per step, and the CPU
 * time per payment of every process on the path (from /proc), in total and above idle.
 *
 * `pnpm bench:e2e --idle`: only the idle part, longer: each process's share of the machine.
 *
 * The edge runs on one workerd under load (as the drills and Cloudflare run it: wrangler dev's
 * proxy costs ~14 ms of CPU per request and saturates this machine at 100 requests/s) and under
 * wrangler dev when idle (what `pnpm start` runs); BENCH_EDGE_RUNTIME overrides both.
 * BENCH_SECONDS (20) per rate, BENCH_RATES (20,100), BENCH_SETTLE_SECONDS (60),
 * BENCH_IDLE_SECONDS (30 with --idle, else 15). Not a test: it asserts nothing, it prints figures.
 */
import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  describeProblems,
  edgeRuntimes,
  findProblems,
  type Gateway,
  parseEdgeRuntime,
  spawnService,
} from '@meridian/local'
import { createPool, databaseUrl, withDatabase } from '@meridian/platform'
import { startCpuMeter } from './cpu.ts'
import type { Step } from './e2e-flow.ts'
import { gatewayRows, type Row, startBenchGateway } from './e2e-gateway.ts'
import type { LoadJob } from './e2e-load-main.ts'
import { cpuLines, latencyHeader, latencyLines, type Measured, measured } from './e2e-report.ts'

const log = (line: string) => process.stdout.write(`${line}\n`)
const idleOnly = process.argv.includes('--idle')
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const seconds = env('BENCH_SECONDS', 20)
const rates = (process.env.BENCH_RATES ?? '20,100').split(',').map(Number)
// Right after start the JITs (V8's, the brokers' C1) still compile: a minute in, idle is idle.
const settleSec = env('BENCH_SETTLE_SECONDS', 60)
const idleSec = env('BENCH_IDLE_SECONDS', idleOnly ? 30 : 15)
const warmUpSec = 5
const cores = availableParallelism()
const fmt = (n: number, digits: number) => n.toFixed(digits)
const runtime =
  parseEdgeRuntime(process.env.BENCH_EDGE_RUNTIME ?? (idleOnly ? 'wrangler-dev' : 'workerd')) ??
  refuse(`BENCH_EDGE_RUNTIME must be one of ${edgeRuntimes.join(', ')}`)

function refuse(message: string): never {
  process.stderr.write(`bench:e2e: ${message}\n`)
  process.exit(2)
}

let loadPid: number | undefined

/** CPU seconds of every row over `sec` seconds of nothing. */
async function measureIdle(rows: readonly Row[], sec: number) {
  const meter = await startCpuMeter(rows)
  const started = performance.now()
  await sleep(sec * 1000)
  const cpu = measured(rows, await meter.stop())
  return { cpu, windowSec: (performance.now() - started) / 1000 }
}

/** One open-loop run in a load generator process of its own (e2e-load-main.ts). */
async function runPayments(rows: readonly Row[], job: LoadJob) {
  let finished: (result: { steps: Step[]; payments: number; durationSec: number }) => void
  const done = new Promise<Parameters<typeof finished>[0]>((resolve) => {
    finished = resolve
  })
  const generator = await spawnService({
    name: 'load generator',
    entry: 'test/bench/e2e-load-main.ts',
    readyEvent: 'load.ready',
    env: { E2E_LOAD: JSON.stringify(job) },
    onLine: (line) => {
      if (line.startsWith('{"event":"load.done"')) finished(JSON.parse(line))
    },
  })
  loadPid = generator.pid
  try {
    const meter = await startCpuMeter(rows)
    const started = performance.now()
    process.kill(generator.pid, 'SIGUSR2')
    const result = await done
    const cpu = measured(rows, await meter.stop())
    return { ...result, cpu, windowSec: (performance.now() - started) / 1000 }
  } finally {
    await generator.stop()
    loadPid = undefined
  }
}

function job(gateway: Gateway, runId: string, ratePerSec: number, sec: number): LoadJob {
  const [, apiKey] = Object.entries(gateway.edge.keys)[0] ?? refuse('no sample merchant key')
  return {
    edgeUrl: gateway.edge.url,
    apiKey,
    runId,
    ratePerSec,
    seconds: sec,
    // The processors answer in 50–200 ms: look first after 100 ms, then every 50 ms (the waits'
    // figures are this coarse), so the polls stay a small share of the requests.
    pollFirstMs: 100,
    pollMs: 50,
    waitMsMax: 30_000,
    requestTimeoutMs: 30_000,
  }
}

function printIdle(idle: Awaited<ReturnType<typeof measureIdle>>, regions: readonly string[]) {
  const share = (cpuSec: number) => `${fmt((100 * cpuSec) / (idle.windowSec * cores), 2)}%`
  log('')
  log(
    `Idle: CPU of every process over ${fmt(idle.windowSec, 1)} s, as a share of the machine (${cores} cores); target: the gateway ≤ 10%:`,
  )
  log('')
  for (const line of cpuLines(idle.cpu, regions, share)) log(line)
}

function printRate(
  run: Awaited<ReturnType<typeof runPayments>>,
  idle: Awaited<ReturnType<typeof measureIdle>>,
  regions: readonly string[],
) {
  const perPayment = (cpuSec: number) => fmt((1000 * cpuSec) / run.payments, 2)
  const idleRate = new Map(idle.cpu.map((m) => [m.name, m.cpuSec / idle.windowSec]))
  const aboveIdle: Measured[] = run.cpu.map((m) => ({
    ...m,
    cpuSec: m.cpuSec - (idleRate.get(m.name) ?? 0) * run.windowSec,
  }))
  const requests = run.steps.filter((s) => !s.name.includes('→')).length
  log('')
  log(
    `CPU ms per payment at ${fmt(run.payments / seconds, 0)}/s (${run.payments} payments, ${fmt(requests / run.payments, 1)} requests each through the edge, ${fmt(run.windowSec, 1)} s measured until the last refund settled):`,
  )
  log('')
  for (const line of cpuLines(run.cpu, regions, perPayment, aboveIdle)) log(line)
}

async function main(): Promise<void> {
  const problems = await findProblems()
  if (problems.length > 0) refuse(describeProblems(problems))
  log(`starting the local gateway (edge on ${runtime})…`)
  const gateway = await startBenchGateway({ log, edgeRuntime: runtime, underLoad: !idleOnly })
  const admin = createPool({ url: withDatabase(databaseUrl(), 'postgres'), poolSizeMax: 1 })
  const stop = async () => {
    await admin.end().catch(() => {})
    await gateway.stop()
  }
  process.once('SIGINT', () => void stop().then(() => process.exit(130)))
  try {
    const rows = gatewayRows(gateway, admin, () => loadPid)
    const regions = gateway.services.map((s) => s.region.id)
    log(`settling for ${settleSec} s…`)
    await sleep(settleSec * 1000)
    const idle = await measureIdle(rows, idleSec)
    printIdle(idle, regions)
    if (idleOnly) return
    const runId = `e2e${Date.now().toString(36)}`
    const warm = await runPayments(rows, job(gateway, `${runId}w`, 20, warmUpSec))
    log('')
    log(`warm-up: ${warm.payments} payments at 20/s, not counted`)
    const results = []
    for (const rate of rates) {
      const run = await runPayments(rows, job(gateway, `${runId}r${rate}`, rate, seconds))
      results.push({ rate, run })
      printRate(run, idle, regions)
    }
    log('')
    log(
      `End to end through the edge (${runtime}), open loop, ${seconds} s per rate; waits (→) count from the answer before them, every poll is a retrieve:`,
    )
    log('')
    for (const line of latencyHeader) log(line)
    for (const { rate, run } of results) for (const line of latencyLines(rate, run.steps)) log(line)
  } finally {
    await stop()
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:e2e: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  },
)
