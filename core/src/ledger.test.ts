import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvariantViolation } from './invariant.ts'
import {
  accounts,
  assertBalanced,
  captureEntry,
  feeFor,
  holdEntry,
  type JournalEntry,
  presentBalance,
  refundEntry,
  releaseEntry,
} from './ledger.ts'

const payment = (amount: number) => ({
  id: 'pay_1',
  merchantId: 'mer_acme',
  amount,
  currency: 'EUR' as const,
})

function balances(entries: readonly JournalEntry[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const e of entries)
    for (const p of e.postings) out.set(p.account, (out.get(p.account) ?? 0) + p.amount)
  return out
}

describe('ledger entries', () => {
  it('balance for every amount, partial capture and partial refunds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
        (amount, captureShare, refundShares) => {
          const p = payment(amount)
          const captured = Math.max(1, Math.floor(amount * captureShare))
          const entries = [holdEntry(p, 'acq'), captureEntry(p, 'acq', captured)]
          let refunded = 0
          refundShares.forEach((share, i) => {
            const r = Math.floor((captured - refunded) * share)
            if (r <= 0) return
            refunded += r
            entries.push(refundEntry({ id: `re_${i}`, amount: r }, p, 'acq'))
          })
          for (const e of entries) assertBalanced(e)
          const b = balances(entries)
          // The hold is fully released by the capture; the merchant has what was captured,
          // less the fee and the refunds.
          expect(b.get(accounts.merchantPending('mer_acme', 'EUR'))).toBe(0)
          expect(b.get(accounts.processorHolds('acq', 'EUR'))).toBe(0)
          expect(0 - (b.get(accounts.merchantAvailable('mer_acme', 'EUR')) ?? 0)).toBe(
            captured - feeFor(captured) - refunded,
          )
          expect([...b.values()].reduce((s, v) => s + v, 0)).toBe(0)
        },
      ),
    )
  })

  it('a hold then a release leaves every account at zero', () => {
    const p = payment(500)
    const b = balances([holdEntry(p, 'acq'), releaseEntry(p, 'acq')])
    expect([...b.values()].every((v) => v === 0)).toBe(true)
  })

  it('refuses entries that do not balance or post zero', () => {
    const bad = { ...holdEntry(payment(5), 'acq') }
    expect(() => assertBalanced({ ...bad, postings: bad.postings.slice(0, 1) })).toThrow(
      InvariantViolation,
    )
    expect(() =>
      assertBalanced({
        ...bad,
        postings: [...bad.postings, { account: 'x', amount: 1, currency: 'EUR' }],
      }),
    ).toThrow(InvariantViolation)
    expect(() => captureEntry(payment(5), 'acq', 6)).toThrow(InvariantViolation)
  })

  it('presents balances as positive amounts owed to the merchant', () => {
    expect(
      presentBalance([
        { account: accounts.merchantPending('mer_acme', 'USD'), currency: 'USD', balance: -500 },
        { account: accounts.merchantAvailable('mer_acme', 'USD'), currency: 'USD', balance: -971 },
      ]),
    ).toEqual({
      object: 'balance',
      pending: [{ amount: 500, currency: 'usd' }],
      available: [{ amount: 971, currency: 'usd' }],
    })
  })
})
