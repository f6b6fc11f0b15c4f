import { describe, expect, it } from 'vitest'
import type { Attempt } from './load.ts'
import {
  buckets,
  failureKinds,
  firstAnomalyMs,
  percentile,
  recoveryMs,
  summarize,
} from './series.ts'

/** One attempt every `everyMs` from `fromMs` to `toMs`, answered `status` by `region`. */
function steady(
  fromMs: number,
  toMs: number,
  everyMs: number,
  status: number,
  region = 'us-east',
  latencyMs = 20,
): Attempt[] {
  const out: Attempt[] = []
  for (let t = fromMs; t < toMs; t += everyMs)
    out.push({ key: `k-${t}`, sentAtMs: t, latencyMs, status, region })
  return out
}

describe('percentile', () => {
  it('takes the nearest rank and copes with nothing', () => {
    expect(percentile([], 99)).toBe(0)
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3)
    expect(percentile([5, 1, 3, 2, 4], 99)).toBe(5)
    expect(percentile([7], 1)).toBe(7)
  })
})

describe('buckets and summarize', () => {
  it('counts attempts, successes and errors per second', () => {
    const attempts = [...steady(0, 1_000, 100, 202), ...steady(1_000, 2_000, 250, 503)]
    const b = buckets(attempts, 0, 2_000)
    expect(b.map((x) => [x.t, x.attempts, x.ok, x.errors])).toEqual([
      [0, 10, 10, 0],
      [1, 4, 0, 4],
    ])
    expect(b[1]?.errorRate).toBe(1)
    const s = summarize(attempts)
    expect(s.attempts).toBe(14)
    expect(s.errorRate).toBeCloseTo(4 / 14, 10)
  })
})

describe('recoveryMs (RTO)', () => {
  const fault = 10_000
  it('is zero when success never dipped below 99%', () => {
    expect(recoveryMs(steady(0, 30_000, 50, 202), fault, 30_000)).toBe(0)
  })

  it('is the time from the fault until success is back and stays back', () => {
    const attempts = [
      ...steady(0, fault, 50, 202),
      ...steady(fault, fault + 4_000, 50, 503),
      ...steady(fault + 4_000, 30_000, 50, 202),
    ]
    expect(recoveryMs(attempts, fault, 30_000)).toBe(4_000)
  })

  it('does not count one lucky second inside a longer outage', () => {
    const attempts = [
      ...steady(fault, fault + 2_000, 50, 0),
      ...steady(fault + 2_000, fault + 3_000, 50, 202),
      ...steady(fault + 3_000, fault + 6_000, 50, 0),
      ...steady(fault + 6_000, 30_000, 50, 202),
    ]
    expect(recoveryMs(attempts, fault, 30_000)).toBe(6_000)
  })

  it('is undefined when success never came back before the end', () => {
    const attempts = [...steady(0, fault, 50, 202), ...steady(fault, 20_000, 50, 503)]
    expect(recoveryMs(attempts, fault, 20_000)).toBeUndefined()
  })
})

describe('firstAnomalyMs (detection by the merchants)', () => {
  const fault = 5_000
  const home = (_key: string, region: string) => region === 'us-east'
  it('sees the first error, failover or slow answer after the fault, at its answer time', () => {
    const calm = steady(0, 20_000, 100, 202)
    expect(firstAnomalyMs(calm, fault, 20, home)).toBeUndefined()
    const failover = [
      ...calm,
      { key: 'x', sentAtMs: 7_000, latencyMs: 30, status: 202, region: 'eu-west' },
    ]
    expect(firstAnomalyMs(failover, fault, 20, home)).toBe(2_030)
    const slow = [
      ...calm,
      { key: 'y', sentAtMs: 6_000, latencyMs: 500, status: 202, region: 'us-east' },
    ]
    expect(firstAnomalyMs(slow, fault, 20, home)).toBe(1_500)
    const failed = [...calm, { key: 'z', sentAtMs: 5_500, latencyMs: 10, status: 0 }]
    expect(firstAnomalyMs(failed, fault, 20, home)).toBe(510)
  })
})

describe('failureKinds', () => {
  it('groups failed attempts by status and error, most frequent first, with when they happened', () => {
    const attempts: Attempt[] = [
      ...steady(0, 3_000, 500, 202),
      { key: 'a', sentAtMs: 1_000, latencyMs: 10_000, status: 0, error: 'TimeoutError' },
      { key: 'b', sentAtMs: 2_000, latencyMs: 5, status: 503, error: 'region_unavailable' },
      { key: 'c', sentAtMs: 2_500, latencyMs: 5, status: 503, error: 'region_unavailable' },
      { key: 'd', sentAtMs: 4_000, latencyMs: 5, status: 502 },
    ]
    expect(failureKinds(attempts, 500)).toEqual([
      { status: 503, error: 'region_unavailable', count: 2, firstSec: 1.5, lastSec: 2 },
      { status: 0, error: 'TimeoutError', count: 1, firstSec: 0.5, lastSec: 0.5 },
      { status: 502, error: 'unknown', count: 1, firstSec: 3.5, lastSec: 3.5 },
    ])
    expect(failureKinds(steady(0, 1_000, 100, 201), 0)).toEqual([])
  })
})
