import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  canReach,
  canTransition,
  isTerminal,
  type PaymentStatus,
  paymentStatuses,
  transitions,
} from './payment-status.ts'

const status = fc.constantFrom(...paymentStatuses)

describe('payment status transition table', () => {
  it('is exactly the state machine in DESIGN.md', () => {
    const edges = paymentStatuses.flatMap((from) => transitions[from].map((to) => `${from}→${to}`))
    expect(edges.sort()).toEqual(
      [
        'pending→authorized',
        'pending→declined',
        'pending→failed',
        'authorized→captured',
        'authorized→canceled',
        'authorized→expired',
        'captured→partially_refunded',
        'captured→refunded',
        'partially_refunded→partially_refunded',
        'partially_refunded→refunded',
      ].sort(),
    )
  })

  it('has terminal states with no way out', () => {
    const terminal = paymentStatuses.filter(isTerminal)
    expect(terminal.sort()).toEqual(['canceled', 'declined', 'expired', 'failed', 'refunded'])
    for (const t of terminal)
      for (const s of paymentStatuses) expect(canTransition(t, s)).toBe(false)
  })

  it('never leads back to pending and only pending reaches everything', () => {
    fc.assert(
      fc.property(status, (s) => {
        expect(canReach('pending', s)).toBe(true)
        if (s !== 'pending') expect(canReach(s, 'pending')).toBe(false)
      }),
    )
  })

  it('reachability is reflexive and transitive, and a partial order apart from self-loops', () => {
    fc.assert(
      fc.property(status, status, status, (a, b, c) => {
        expect(canReach(a, a)).toBe(true)
        if (canReach(a, b) && canReach(b, c)) expect(canReach(a, c)).toBe(true)
        if (a !== b && canReach(a, b)) expect(canReach(b, a)).toBe(false)
      }),
    )
  })

  it('a random walk only ever takes legal steps and ends in a terminal state', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (choices) => {
        let current: PaymentStatus = 'pending'
        for (const choice of choices) {
          const next = transitions[current].filter((s) => s !== current)
          if (next.length === 0) break
          const to = next[choice % next.length] as PaymentStatus
          expect(canTransition(current, to)).toBe(true)
          current = to
        }
        if (choices.length >= 5) expect(isTerminal(current)).toBe(true)
      }),
    )
  })
})
