import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { repoRoot } from '../processes.ts'
import type { Counts } from './checker.ts'

const limitsSchema = z.strictObject({
  lostMax: z.number().int().min(0),
  duplicatedMax: z.number().int().min(0),
  unbalancedMax: z.number().int().min(0),
  divergedMax: z.number().int().min(0),
  stuckMax: z.number().int().min(0),
  mismatchedMax: z.number().int().min(0),
  /** Services that exited on their own during the drill (a dependency outage must not kill them). */
  crashesMax: z.number().int().min(0),
  rtoSecMax: z.number().min(0),
  convergenceSecMax: z.number().positive(),
  errorRateDuringFaultMax: z.number().min(0).max(1),
})
export type Limits = z.infer<typeof limitsSchema>

const fileSchema = z.strictObject({
  $comment: z.string().optional(),
  default: limitsSchema,
  scenarios: z.record(z.string(), limitsSchema.partial()),
})

export const thresholdsFile = join(repoRoot, 'drills', 'thresholds.json')

export function loadLimits(scenario: string, file = thresholdsFile): Limits {
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')))
  if (!parsed.success)
    throw new Error(`${file}: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`)
  const overrides = Object.entries(parsed.data.scenarios[scenario] ?? {}).filter(
    ([, v]) => v !== undefined,
  )
  return { ...parsed.data.default, ...Object.fromEntries(overrides) }
}

export interface Measured {
  readonly counts: Counts
  readonly crashes: number
  /** Undefined: success never came back to 99% before the drill ended. */
  readonly rtoMs: number | undefined
  /** Undefined: the regions did not converge within the wait. */
  readonly convergenceMs: number | undefined
  readonly errorRateDuringFault: number
}

export interface Verdict {
  readonly pass: boolean
  readonly failures: readonly string[]
}

/** PASS only when every measured figure is within its limit; each miss is named. */
export function judge(measured: Measured, limits: Limits): Verdict {
  const failures: string[] = []
  for (const kind of [
    'lost',
    'duplicated',
    'unbalanced',
    'diverged',
    'stuck',
    'mismatched',
  ] as const) {
    const max = limits[`${kind}Max`]
    if (measured.counts[kind] > max) failures.push(`${kind} ${measured.counts[kind]} > ${max}`)
  }
  if (measured.crashes > limits.crashesMax)
    failures.push(`${measured.crashes} services crashed > ${limits.crashesMax}`)
  if (measured.rtoMs === undefined) failures.push('success rate never recovered to 99%')
  else if (measured.rtoMs / 1000 > limits.rtoSecMax)
    failures.push(`RTO ${(measured.rtoMs / 1000).toFixed(1)} s > ${limits.rtoSecMax} s`)
  if (measured.convergenceMs === undefined)
    failures.push(`regions did not converge within ${limits.convergenceSecMax} s`)
  else if (measured.convergenceMs / 1000 > limits.convergenceSecMax)
    failures.push(
      `convergence ${(measured.convergenceMs / 1000).toFixed(1)} s > ${limits.convergenceSecMax} s`,
    )
  if (measured.errorRateDuringFault > limits.errorRateDuringFaultMax)
    failures.push(
      `error rate during fault ${(measured.errorRateDuringFault * 100).toFixed(2)}% > ${(limits.errorRateDuringFaultMax * 100).toFixed(2)}%`,
    )
  return { pass: failures.length === 0, failures }
}
