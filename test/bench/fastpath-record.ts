/**
 * What one `bench:fastpath` run measured, saved as JSON so the next change can show its cost:
 * `pnpm bench:fastpath --compare <file>` prints every figure beside the saved one.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { CpuRow } from './cpu.ts'

export interface LatencyFigures {
  readonly okPerSec: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly errors: string
}

export interface FastpathRecord {
  readonly version: 1
  readonly at: string
  readonly commit: string
  readonly secondsPerRun: number
  readonly cpu: {
    readonly ratePerSec: number
    readonly accepted: number
    readonly rows: readonly (CpuRow & { readonly usPerPayment: number })[]
  }
  readonly maxSustained: { readonly okPerSec: number; readonly connections: number }
  readonly latency: readonly {
    readonly ratePerSec: number
    readonly fast: LatencyFigures
    readonly bare: LatencyFigures
    /** The API's and bare Hono's own CPU per request over those seconds. */
    readonly cpuUsPerRequest: { readonly api: number; readonly bare: number }
  }[]
}

export const loadGeneratorRow = 'load generator (this process)'

/** µs per payment summed over every process, and over the path alone (without the generator). */
export function cpuSums(record: FastpathRecord): { all: number; path: number } {
  const rows = record.cpu.rows
  const all = rows.reduce((sum, r) => sum + r.usPerPayment, 0)
  const generator = rows.find((r) => r.name === loadGeneratorRow)?.usPerPayment ?? 0
  return { all, path: all - generator }
}

export function saveRecord(file: string, record: FastpathRecord): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`)
}

export function loadRecord(file: string): FastpathRecord {
  const record = JSON.parse(readFileSync(file, 'utf8')) as FastpathRecord
  if (record.version !== 1) throw new Error(`${file}: not a bench:fastpath record (version 1)`)
  return record
}

type Figure = [name: string, before: number | undefined, now: number | undefined, unit: string]

function figures(before: FastpathRecord, now: FastpathRecord): Figure[] {
  const out: Figure[] = []
  const names = new Set([...before.cpu.rows, ...now.cpu.rows].map((r) => r.name))
  const row = (r: FastpathRecord, name: string) =>
    r.cpu.rows.find((x) => x.name === name)?.usPerPayment
  for (const name of names)
    out.push([`CPU ${name}`, row(before, name), row(now, name), 'µs/payment'])
  out.push(['CPU sum, path', cpuSums(before).path, cpuSums(now).path, 'µs/payment'])
  out.push(['CPU sum, all', cpuSums(before).all, cpuSums(now).all, 'µs/payment'])
  out.push(['max sustained', before.maxSustained.okPerSec, now.maxSustained.okPerSec, 'accepted/s'])
  const rates = new Set([...before.latency, ...now.latency].map((l) => l.ratePerSec))
  for (const rate of rates) {
    const b = before.latency.find((l) => l.ratePerSec === rate)
    const n = now.latency.find((l) => l.ratePerSec === rate)
    out.push([`${rate}/s fast path p50`, b?.fast.p50, n?.fast.p50, 'ms'])
    out.push([`${rate}/s fast path p99`, b?.fast.p99, n?.fast.p99, 'ms'])
    out.push([`${rate}/s bare Hono p99`, b?.bare.p99, n?.bare.p99, 'ms'])
    const ratio = (l: typeof b) => (l ? l.fast.p99 / l.bare.p99 : undefined)
    out.push([`${rate}/s p99 ratio to bare Hono`, ratio(b), ratio(n), '×'])
    out.push([
      `${rate}/s API CPU per request`,
      b?.cpuUsPerRequest.api,
      n?.cpuUsPerRequest.api,
      'µs',
    ])
    out.push([
      `${rate}/s bare Hono CPU per request`,
      b?.cpuUsPerRequest.bare,
      n?.cpuUsPerRequest.bare,
      'µs',
    ])
  }
  return out
}

const cell = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(n >= 100 ? 0 : 2)

/** A Markdown table of every figure: saved, now, and the change in percent. */
export function comparison(before: FastpathRecord, now: FastpathRecord): string[] {
  const lines = [
    `| figure | ${before.at.slice(0, 10)} (${before.commit.slice(0, 7)}) | now (${now.commit.slice(0, 7)}) | change |`,
    '| --- | --- | --- | --- |',
  ]
  for (const [name, b, n, unit] of figures(before, now)) {
    const change =
      b !== undefined && n !== undefined && b !== 0 && Number.isFinite(b) && Number.isFinite(n)
        ? `${n >= b ? '+' : ''}${(((n - b) / b) * 100).toFixed(0)}%`
        : ''
    lines.push(`| ${name} (${unit}) | ${cell(b)} | ${cell(n)} | ${change} |`)
  }
  return lines
}
