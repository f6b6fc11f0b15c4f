/** bench:e2e's tables: latency per step, CPU per process (per payment, or idle share). */
import type { CpuRow } from './cpu.ts'
import { type Step, type StepName, stepNames, successOf } from './e2e-flow.ts'
import type { Row } from './e2e-gateway.ts'
import { percentile } from './load.ts'

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-')

/** The target issue 21 sets for the steps a merchant waits on (not for the processor's waits). */
const targetNote: Partial<Record<StepName, string>> = {
  create: 'p99 ≤ 50 ms at 20/s',
  capture: 'p99 ≤ 50 ms at 20/s',
  refund: 'p99 ≤ 50 ms at 20/s',
}

/** `409 payment_invalid_state×3, no answer (…)×1`: every outcome that was not the success. */
function errorsCell(steps: readonly Step[], success: string): string {
  const counts = new Map<string, number>()
  for (const s of steps)
    if (s.outcome !== success) counts.set(s.outcome, (counts.get(s.outcome) ?? 0) + 1)
  return [...counts].map(([outcome, n]) => `${outcome}×${n}`).join(', ') || '0'
}

export function latencyLines(ratePerSec: number, steps: readonly Step[]): string[] {
  const lines: string[] = []
  for (const name of stepNames) {
    const mine = steps.filter((s) => s.name === name)
    const sorted = Float64Array.from(mine.map((s) => s.ms)).sort()
    const p = (q: number) => fmt(percentile(sorted, q))
    lines.push(
      `| ${ratePerSec}/s | ${name} | ${mine.length} | ${p(50)} | ${p(99)} | ${p(99.9)} | ${errorsCell(mine, successOf[name])} | ${targetNote[name] ?? ''} |`,
    )
  }
  return lines
}

export const latencyHeader = [
  '| rate | operation | count | p50 ms | p99 ms | p999 ms | errors | target |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
]

/** A measured row with what it is: component and region. */
export interface Measured extends CpuRow {
  readonly component: string
  readonly region: string | undefined
}

export function measured(rows: readonly Row[], cpu: readonly CpuRow[]): Measured[] {
  const byName = new Map(rows.map((r) => [r.name, r]))
  return cpu.flatMap((c) => {
    const row = byName.get(c.name)
    return row ? [{ ...c, component: row.component, region: row.region }] : []
  })
}

const sum = (ms: readonly Measured[]) => ms.reduce((t, m) => t + m.cpuSec, 0)

/**
 * One line per component, one column per region and a total: `value` turns CPU seconds into
 * what the table shows (ms per payment, % of the machine). With `aboveIdle` (the same rows less
 * what each used idle over as long), a last column shows that total too.
 */
export function cpuLines(
  all: readonly Measured[],
  regions: readonly string[],
  value: (cpuSec: number) => string,
  aboveIdle?: readonly Measured[],
): string[] {
  const extra = aboveIdle ? ' above idle |' : ''
  const lines = [
    `| process | ${regions.join(' | ')} | all |${extra}`,
    `| --- |${regions.map(() => ' --- |').join('')} --- |${aboveIdle ? ' --- |' : ''}`,
  ]
  const line = (label: string, mine: (m: Measured) => boolean, bold = false) => {
    const b = bold ? '**' : ''
    const ours = all.filter(mine)
    const cells = regions.map((r) => {
      const inRegion = ours.filter((m) => m.region === r)
      return inRegion.length > 0 ? value(sum(inRegion)) : ''
    })
    const tail = aboveIdle ? ` ${b}${value(sum(aboveIdle.filter(mine)))}${b} |` : ''
    lines.push(`| ${label} | ${cells.join(' | ')} | ${b}${value(sum(ours))}${b} |${tail}`)
  }
  for (const component of new Set(all.map((m) => m.component))) {
    const shared = all.some((m) => m.component === component && m.shared)
    line(
      `${component}${shared ? ' (shared with the machine)' : ''}`,
      (m) => m.component === component,
    )
  }
  line(
    '**sum, the gateway** (all but the load generator)',
    (m) => m.component !== 'load generator',
    true,
  )
  return lines
}
