import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scenarioNames } from './scenarios.ts'
import { judge, type Limits, loadLimits } from './thresholds.ts'

const limits: Limits = {
  lostMax: 0,
  duplicatedMax: 0,
  unbalancedMax: 0,
  divergedMax: 0,
  stuckMax: 0,
  mismatchedMax: 0,
  crashesMax: 0,
  rtoSecMax: 5,
  convergenceSecMax: 60,
  errorRateDuringFaultMax: 0.05,
}
const clean = { lost: 0, duplicated: 0, unbalanced: 0, diverged: 0, stuck: 0, mismatched: 0 }

describe('judge', () => {
  it('passes a run inside every limit', () => {
    expect(
      judge(
        {
          counts: clean,
          crashes: 0,
          rtoMs: 4_999,
          convergenceMs: 1_000,
          errorRateDuringFault: 0.05,
        },
        limits,
      ),
    ).toEqual({ pass: true, failures: [] })
  })

  it('fails and names every figure over its limit', () => {
    const verdict = judge(
      {
        counts: { ...clean, lost: 2, diverged: 1 },
        crashes: 3,
        rtoMs: 7_000,
        convergenceMs: undefined,
        errorRateDuringFault: 0.2,
      },
      limits,
    )
    expect(verdict.pass).toBe(false)
    expect(verdict.failures).toEqual([
      'lost 2 > 0',
      'diverged 1 > 0',
      '3 services crashed > 0',
      'RTO 7.0 s > 5 s',
      'regions did not converge within 60 s',
      'error rate during fault 20.00% > 5.00%',
    ])
  })

  it('fails a run whose success rate never recovered', () => {
    const verdict = judge(
      { counts: clean, crashes: 0, rtoMs: undefined, convergenceMs: 10, errorRateDuringFault: 0 },
      limits,
    )
    expect(verdict.failures).toEqual(['success rate never recovered to 99%'])
  })
})

describe('loadLimits', () => {
  it('reads the checked-in file: zero tolerance on the checker counts for every scenario', () => {
    for (const name of scenarioNames) {
      const l = loadLimits(name)
      expect([
        l.lostMax,
        l.duplicatedMax,
        l.unbalancedMax,
        l.divergedMax,
        l.stuckMax,
        l.mismatchedMax,
        l.crashesMax,
      ]).toEqual([0, 0, 0, 0, 0, 0, 0])
    }
  })

  it('applies a scenario override over the default', () => {
    const file = thresholdsFileWith({ default: limits, scenarios: { partition: { rtoSecMax: 0 } } })
    expect(loadLimits('partition', file).rtoSecMax).toBe(0)
    expect(loadLimits('region-down', file).rtoSecMax).toBe(5)
  })

  it('refuses a file with a misspelt or out-of-range limit, naming it', () => {
    const misspelt = thresholdsFileWith({
      default: limits,
      scenarios: { partition: { rtoSecMaxx: 1 } },
    })
    expect(() => loadLimits('partition', misspelt)).toThrow(/rtoSecMaxx/)
    const outOfRange = thresholdsFileWith({ default: { ...limits, errorRateDuringFaultMax: 2 } })
    expect(() => loadLimits('partition', outOfRange)).toThrow(/errorRateDuringFaultMax/)
  })
})

function thresholdsFileWith(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'thresholds-')), 'thresholds.json')
  writeFileSync(file, JSON.stringify(content))
  return file
}
