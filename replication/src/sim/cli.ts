/**
 * `pnpm sim:replication --seed N --steps M` runs one seed and prints its report;
 * `pnpm sim:replication --seeds 1000 [--from 1] [--steps M]` runs a range and prints any failing
 * seed with the command that replays it. Exit code 1 when any seed fails.
 *
 * `--model money` runs the money-path model instead (money/model.ts): `--stories N` payments per
 * merchant, `--protocol random-ids` the protocol before 2e85293, `--trace` (with `--seed`) every step
 * of the run; the totals say how many hangs,
 * crashes, retries, failovers and compensations the seeds went through.
 */
import { runMoneySimulation } from './money/model.ts'
import { runSimulation } from './simulator.ts'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`--${name} must be a non-negative integer`)
  return value
}

function text(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

interface Run {
  readonly ok: boolean
  readonly problems: readonly string[]
  readonly stats: Readonly<Record<string, number>>
}

const model = text('model', 'replication')
if (model !== 'replication' && model !== 'money')
  throw new Error('--model must be replication or money')
const protocol = text('protocol', 'derived-ids')
if (protocol !== 'derived-ids' && protocol !== 'random-ids')
  throw new Error('--protocol must be derived-ids or random-ids')
const steps = arg('steps', 400)
const stories = arg('stories', 8)
const faults = process.argv.includes('--faults') ? arg('faults', 0) : undefined
const trace = process.argv.includes('--trace')
const run = (seed: number): Promise<Run> =>
  model === 'money'
    ? runMoneySimulation({
        seed,
        stories,
        protocol,
        trace,
        ...(faults === undefined ? {} : { faults }),
      })
    : Promise.resolve(runSimulation({ seed, steps }))
const replay = (seed: number) =>
  model === 'money'
    ? `pnpm sim:replication --model money --seed ${seed} --stories ${stories}${faults === undefined ? '' : ` --faults ${faults}`} --protocol ${protocol}`
    : `pnpm sim:replication --seed ${seed} --steps ${steps}`

if (process.argv.includes('--seed')) {
  const { trace: lines, ...report } = (await run(arg('seed', 1))) as Run & { trace?: string[] }
  if (lines) process.stdout.write(`${lines.join('\n')}\n`)
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  process.exit(report.ok ? 0 : 1)
}
const from = arg('from', 1)
const count = arg('seeds', 100)
const started = Date.now()
let failed = 0
const totals: Record<string, number> = {}
const byInvariant: Record<string, number> = {}
for (let seed = from; seed < from + count; seed++) {
  const report = await run(seed)
  for (const [k, v] of Object.entries(report.stats)) totals[k] = (totals[k] ?? 0) + v
  if (!report.ok) {
    failed++
    for (const label of new Set(report.problems.map((p) => /^\[[^\]]+\]/.exec(p)?.[0] ?? p)))
      byInvariant[label] = (byInvariant[label] ?? 0) + 1
    process.stdout.write(
      `seed ${seed} FAILED: ${report.problems.slice(0, 3).join('; ')}\n  replay: ${replay(seed)}\n`,
    )
  }
  if ((seed - from + 1) % 100 === 0)
    process.stdout.write(`… ${seed - from + 1}/${count} seeds, ${failed} failed\n`)
}
const size = model === 'money' ? `${stories} payments per merchant` : `${steps} steps`
process.stdout.write(
  `${count - failed}/${count} seeds passed, ${failed} failed (${size} each) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
)
if (failed > 0)
  process.stdout.write(`failing seeds per invariant: ${JSON.stringify(byInvariant)}\n`)
process.stdout.write(`totals: ${JSON.stringify(totals)}\n`)
process.exit(failed === 0 ? 0 : 1)
