import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelayMs, fullJitter, halfJitter, noJitter } from './backoff.ts'
import { backoffMs, retryDefaults } from './retry.ts'
import { Rng, seededRandom } from './rng.ts'

/**
 * The one backoff replaced five loops written by hand (issue 19); these pin it to what they
 * computed, so a later change to the rule shows here rather than as a drill that waits longer.
 */
describe('backoffDelayMs', () => {
  const attempt = fc.integer({ min: 0, max: 40 })
  const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
  const limits = fc
    .tuple(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1_000_000 }))
    .map(([min, extra]) => ({ delayMsMin: min, delayMsMax: min + extra }))

  it('is the processor retry of before: floor(random · min(max, base·2^attempt))', () => {
    fc.assert(
      fc.property(attempt, unit, (n, r) => {
        const ceiling = Math.min(
          retryDefaults.retryDelayMsMax,
          retryDefaults.retryDelayMsBase * 2 ** n,
        )
        expect(backoffMs(n, retryDefaults, () => r)).toBe(Math.floor(r * ceiling))
      }),
    )
  })

  it('without jitter is the doubling of before, capped (relay, supervisor, drills)', () => {
    fc.assert(
      fc.property(attempt, limits, (n, l) => {
        const backoff = { ...l, jitter: noJitter }
        expect(backoffDelayMs(n, backoff)).toBe(Math.min(l.delayMsMax, l.delayMsMin * 2 ** n))
      }),
    )
  })

  it('stays within its jitter: full in [0, ceiling), half in [ceiling/2, ceiling)', () => {
    fc.assert(
      fc.property(attempt, limits, unit, (n, l, r) => {
        const ceiling = Math.min(l.delayMsMax, l.delayMsMin * 2 ** n)
        const full = backoffDelayMs(n, { ...l, jitter: fullJitter }, () => r)
        const half = backoffDelayMs(n, { ...l, jitter: halfJitter }, () => r)
        expect(full).toBeGreaterThanOrEqual(0)
        expect(full).toBeLessThan(ceiling)
        expect(half).toBeGreaterThanOrEqual(Math.floor(ceiling / 2))
        expect(half).toBeLessThan(ceiling)
      }),
    )
  })

  it('treats a negative attempt as the first', () => {
    expect(backoffDelayMs(-3, { delayMsMin: 100, delayMsMax: 1000, jitter: noJitter })).toBe(100)
  })
})

describe('the seeded RNG', () => {
  it('gives the numbers the simulators and the money-path model always drew (mulberry32)', () => {
    // Drawn from the processor simulator's generator before it moved here: a seed replays a run.
    const r = seededRandom(42)
    expect([r(), r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099])
    const rng = new Rng(42)
    expect([rng.next(), rng.next(), rng.next()]).toEqual([
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099,
    ])
  })
})
