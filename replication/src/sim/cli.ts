/**
 * `pnpm sim:replication --seed N --steps M` runs one seed and prints its report;
 * `pnpm sim:replication --seeds 1000 [--from 1] [--steps M]` runs a range and prints any failing
 * seed with the command that replays it. Exit code 1 when any seed fails.
 */
import { runSimulation } from './simulator.ts'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`--${name} must be a non-negative integer`)
  return value
}

const steps = arg('steps', 400)
if (process.argv.includes('--seed')) {
  const report = runSimulation({ seed: arg('seed', 1), steps })
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  process.exit(report.ok ? 0 : 1)
}
const from = arg('from', 1)
const count = arg('seeds', 100)
const started = Date.now()
let failed = 0
const totals: Record<string, number> = {}
for (let seed = from; seed < from + count; seed++) {
  const report = runSimulation({ seed, steps })
  for (const [k, v] of Object.entries(report.stats)) totals[k] = (totals[k] ?? 0) + v
  if (!report.ok) {
    failed++
    process.stdout.write(
      `seed ${seed} FAILED: ${report.problems.slice(0, 3).join('; ')}\n  replay: pnpm sim:replication --seed ${seed} --steps ${steps}\n`,
    )
  }
  if ((seed - from + 1) % 100 === 0)
    process.stdout.write(`… ${seed - from + 1}/${count} seeds, ${failed} failed\n`)
}
process.stdout.write(
  `${count - failed}/${count} seeds passed (${steps} steps each) in ${((Date.now() - started) / 1000).toFixed(1)} s; totals: ${JSON.stringify(totals)}\n`,
)
process.exit(failed === 0 ? 0 : 1)
