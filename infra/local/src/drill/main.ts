/**
 * `pnpm drill --scenario <name> [--region r] [--duration s] [--rate n] [--seed n]`, or `--all`.
 * Starts its own local gateway (separate ports, databases and Redis keys, so it runs beside
 * `pnpm start`), drives payments through the edge, throws the fault, heals it, checks every
 * acknowledged payment and writes drills/reports/<time>-<scenario>.{json,md,svg}.
 * `--ci`: every scenario, short, then a deliberately broken run that must FAIL.
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fleet } from '@meridian/core'
import { edgeRuntimes, parseEdgeRuntime } from '../edge.ts'
import { repoRoot } from '../processes.ts'
import { writeReport } from './report.ts'
import type { DrillResult } from './run.ts'
import { type ScenarioName, scenarioNames } from './scenarios.ts'

// Ports apart from `pnpm start`'s; read by the local topology when it loads, so set them first.
process.env.MERIDIAN_PORT_BASE ??= '5100'
process.env.MERIDIAN_EDGE_PORT ??= '8797'

const usage = `usage: pnpm drill --scenario <${scenarioNames.join('|')}> [options]
       pnpm drill --all [options]
       pnpm drill --ci
options: --region <id> (default us-east)  --peer <id> (partition; default the next region)
         --duration <s> fault held (default 10)  --rate <n> payments/s (default 10)  --seed <n> (default 1)
         --warmup <s> baseline before the fault (default 5)  --recovery <s> (default 10)
         --prime <s> unmeasured load on the fresh topology first (default 10)  --latency-ms <n> (slow-region, default 400)
         --processor <name> (processor-outage, default acquirer-rest)  --out <dir> (default drills/reports)
         --edge-runtime <workerd|wrangler-dev> (default workerd, as production; wrangler-dev as pnpm start)
         --sabotage no-replication (stop replication first: the run must FAIL)  --verbose`

function fail(message: string): never {
  process.stderr.write(`drill: ${message}\n${usage}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    all: { type: 'boolean', default: false },
    ci: { type: 'boolean', default: false },
    region: { type: 'string', default: 'us-east' },
    peer: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    seed: { type: 'string', default: '1' },
    warmup: { type: 'string' },
    prime: { type: 'string' },
    recovery: { type: 'string' },
    'latency-ms': { type: 'string', default: '400' },
    processor: { type: 'string', default: 'acquirer-rest' },
    'edge-runtime': { type: 'string', default: 'workerd' },
    out: { type: 'string', default: join(repoRoot, 'drills', 'reports') },
    sabotage: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}

const number = (name: string, text: string | undefined, fallback: number, min = 0) => {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number ≥ ${min}, not "${text}"`)
  return n
}
const short = values.ci
const plan: ScenarioName[] = values.all || values.ci ? [...scenarioNames] : []
if (values.scenario) {
  if (!(scenarioNames as readonly string[]).includes(values.scenario))
    fail(`unknown scenario "${values.scenario}"`)
  plan.push(values.scenario as ScenarioName)
}
if (plan.length === 0) fail('name a --scenario, or --all')
const regionIds = fleet.regions.map((r) => r.id)
if (!regionIds.includes(values.region))
  fail(`unknown region "${values.region}"; regions: ${regionIds.join(', ')}`)
const peer =
  values.peer ?? regionIds[(regionIds.indexOf(values.region) + 1) % regionIds.length] ?? ''
if (!regionIds.includes(peer) || peer === values.region)
  fail(`--peer must be another region, not "${peer}"`)
const edgeRuntime =
  parseEdgeRuntime(values['edge-runtime']) ??
  fail(`--edge-runtime takes ${edgeRuntimes.join(' or ')}`)
if (values.sabotage !== undefined && values.sabotage !== 'no-replication')
  fail('--sabotage takes no-replication')

const settings = {
  ratePerSec: number('rate', values.rate, 10, 1),
  warmupSec: number('warmup', values.warmup, short ? 3 : 5),
  primeSec: number('prime', values.prime, short ? 5 : 10),
  holdSec: number('duration', values.duration, short ? 4 : 10, 1),
  recoverySec: number('recovery', values.recovery, short ? 6 : 10),
  seed: number('seed', values.seed, 1),
}
const target = {
  region: values.region,
  peer,
  latencyMs: number('latency-ms', values['latency-ms'], 400),
  processor: values.processor,
}
/** Kinds of service warnings and errors printed under a FAIL (the services log has them all). */
const problemLinesMax = 12
const log = (line: string) =>
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)

async function main(): Promise<number> {
  const { describeProblems, findProblems } = await import('../prerequisites.ts')
  const problems = await findProblems()
  if (problems.length > 0) {
    process.stderr.write(`${describeProblems(problems)}\n`)
    return 1
  }
  const { startDrillTopology } = await import('./start.ts')
  const { loadLimits } = await import('./thresholds.ts')
  const { primeTopology, runDrill } = await import('./run.ts')
  log(
    `starting the local gateway for drills (edge ${process.env.MERIDIAN_EDGE_PORT} on ${edgeRuntime}, region APIs ${Number(process.env.MERIDIAN_PORT_BASE) + 1}…)`,
  )
  const { ServiceLog, describeProblems: describeServiceProblems } = await import('./service-log.ts')
  const serviceLog = new ServiceLog(
    join(values.out, `${new Date().toISOString().replace(/[:.]/g, '-')}-services.log`),
  )
  log(`services' warnings and errors go to ${serviceLog.path}`)
  const topology = await startDrillTopology({
    seed: settings.seed,
    edgeRuntime,
    verbose: values.verbose,
    serviceLog: (line) => {
      serviceLog.write(line)
      if (values.verbose) log(line)
    },
  })
  const stop = async () => {
    await topology.close()
    await topology.gateway.stop()
    await serviceLog.close()
  }
  process.once('SIGINT', () => void stop().then(() => process.exit(130)))
  const results: { result: DrillResult; md: string; expectFail: boolean }[] = []
  try {
    if (settings.primeSec > 0) {
      log(`priming the topology: ${settings.primeSec} s of load, not measured`)
      const primed = await primeTopology(topology, { ...settings, seconds: settings.primeSec })
      log(`primed: ${primed.acknowledged} payments acknowledged in ${primed.attempts} attempts`)
    }
    const runs = plan.map((scenario) => ({
      scenario,
      sabotage: values.sabotage as 'no-replication' | undefined,
      expectFail: false,
    }))
    // The proof the checker can fail: same drill, replication stopped. Last, since it breaks the topology.
    if (values.ci)
      runs.push({ scenario: 'processor-outage', sabotage: 'no-replication', expectFail: true })
    for (const run of runs) {
      const limits = loadLimits(run.scenario)
      const result = await runDrill(topology, {
        scenario: run.scenario,
        target,
        ...settings,
        // A sabotaged run will not converge; no need to wait the full limit to know it.
        limits: run.sabotage ? { ...limits, convergenceSecMax: 10 } : limits,
        log,
        ...(run.sabotage ? { sabotage: run.sabotage } : {}),
      })
      const paths = writeReport(values.out, result)
      const c = result.checker.counts
      log(
        `${run.scenario}: ${result.verdict.pass ? 'PASS' : 'FAIL'} — RTO ${result.rtoMs ?? 'n/a'} ms, detection ${result.detection.ms ?? 'n/a'} ms, RPO ${result.rpo.unreplicatedAtFault} (${result.rpo.recovered ? 'recovered' : 'NOT recovered'}), convergence ${result.convergenceMs ?? 'n/a'} ms, lost ${c.lost} duplicated ${c.duplicated} unbalanced ${c.unbalanced} diverged ${c.diverged} stuck ${c.stuck} mismatched ${c.mismatched}, services crashed ${result.crashes.length}`,
      )
      for (const f of result.verdict.failures) log(`  ✗ ${f}`)
      if (!result.verdict.pass) {
        for (const e of result.errors)
          log(
            `  merchants got ${e.status === 0 ? 'no answer' : e.status} ${e.error} ×${e.count} (${e.firstSec.toFixed(1)}–${e.lastSec.toFixed(1)} s)`,
          )
        // The services' own account of the failure, for whoever reads this without the topology.
        const problems = serviceLog.problemsSince(Date.parse(result.startedAt))
        if (problems.length > 0) log(`  services' warnings and errors since the drill started:`)
        for (const line of describeServiceProblems(problems, problemLinesMax)) log(`    ${line}`)
      }
      log(`  report ${paths.md}`)
      results.push({ result, md: paths.md, expectFail: run.expectFail })
    }
  } finally {
    await stop()
  }
  log('summary:')
  let ok = true
  for (const { result, expectFail } of results) {
    const good = result.verdict.pass !== expectFail
    ok &&= good
    log(
      `  ${result.scenario.padEnd(17)} ${result.verdict.pass ? 'PASS' : 'FAIL'}${expectFail ? ` (sabotaged: expected FAIL — ${good ? 'the checker caught it' : 'THE CHECKER MISSED IT'})` : ''}`,
    )
  }
  return ok ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `drill: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exit(1)
  },
)
