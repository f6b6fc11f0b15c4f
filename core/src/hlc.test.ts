import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareHlc, formatHlc, type Hlc, HybridClock, hlcDriftMsMax, parseHlc } from './hlc.ts'

/** A physical clock the test drives: it can stall, jump or run backwards. */
function manualClock(start: number) {
  let t = start
  return { now: () => t, set: (v: number) => (t = v) }
}

const step = fc.oneof(
  fc.record({ kind: fc.constant('local' as const), dt: fc.integer({ min: -50, max: 50 }) }),
  fc.record({
    kind: fc.constant('receive' as const),
    dt: fc.integer({ min: -50, max: 50 }),
    remoteOffset: fc.integer({ min: -1000, max: 1000 }),
    remoteLogical: fc.integer({ min: 0, max: 100 }),
  }),
)

describe('hybrid logical clock', () => {
  it('is strictly monotonic whatever the physical clock does', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const physical = manualClock(1_700_000_000_000)
        const clock = new HybridClock('us-east', physical.now)
        let last: Hlc | undefined
        for (const s of steps) {
          physical.set(physical.now() + s.dt)
          let next: Hlc
          if (s.kind === 'local') {
            next = clock.now()
          } else {
            const remote = {
              wallMs: physical.now() + s.remoteOffset,
              logical: s.remoteLogical,
              node: 'eu-west',
            }
            const outcome = clock.observe(remote)
            if (!outcome.ok) throw new Error('drift not expected in this range')
            next = outcome.hlc
            // Receive happens-after the send it observed.
            expect(compareHlc(remote, next)).toBe(-1)
          }
          if (last) expect(compareHlc(last, next)).toBe(-1)
          // Never behind the physical clock.
          expect(next.wallMs).toBeGreaterThanOrEqual(physical.now())
          last = next
        }
      }),
    )
  })

  it('stays within the largest drift it has observed of physical time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 50 }), (aheads) => {
        const physical = manualClock(1_700_000_000_000)
        const clock = new HybridClock('us-east', physical.now)
        let maxAhead = 0
        for (const ahead of aheads) {
          maxAhead = Math.max(maxAhead, ahead)
          const outcome = clock.observe({ wallMs: physical.now() + ahead, logical: 0, node: 'x' })
          expect(outcome.ok).toBe(true)
          if (outcome.ok) expect(outcome.hlc.wallMs - physical.now()).toBeLessThanOrEqual(maxAhead)
        }
      }),
    )
  })

  it('refuses a remote clock too far ahead, and changes nothing when it does', () => {
    const physical = manualClock(1_000_000)
    const clock = new HybridClock('us-east', physical.now)
    const before = clock.now()
    const outcome = clock.observe({ wallMs: 1_000_000 + hlcDriftMsMax + 1, logical: 0, node: 'x' })
    expect(outcome).toEqual({ ok: false, reason: 'drift', driftMs: hlcDriftMsMax + 1 })
    const after = clock.now()
    expect(after.wallMs).toBe(before.wallMs)
    expect(after.logical).toBe(before.logical + 1)
  })

  it('formats to fixed-width text that sorts like compareHlc and parses back', () => {
    const hlc = fc.record({
      wallMs: fc.integer({ min: 0, max: 9_999_999_999_999 }),
      logical: fc.integer({ min: 0, max: 0xffff }),
      node: fc.constantFrom('us-east', 'eu-west', 'ap-south'),
    })
    fc.assert(
      fc.property(hlc, hlc, (a, b) => {
        expect(parseHlc(formatHlc(a))).toEqual(a)
        const textOrder = formatHlc(a) < formatHlc(b) ? -1 : formatHlc(a) > formatHlc(b) ? 1 : 0
        expect(textOrder).toBe(compareHlc(a, b))
      }),
    )
  })
})
