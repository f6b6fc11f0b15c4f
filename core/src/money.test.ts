import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type CurrencyCode, currencyExponents } from './currencies.ts'
import { InvariantViolation } from './invariant.ts'
import {
  add,
  allocate,
  compare,
  fromDecimalString,
  money,
  negate,
  subtract,
  sum,
  toDecimalString,
} from './money.ts'

const codes = Object.keys(currencyExponents) as CurrencyCode[]
const currency = fc.constantFrom(...codes)
// Amounts small enough that sums of a few of them stay safe integers.
const amount = fc.integer({ min: -1e12, max: 1e12 })
const moneyIn = (c: CurrencyCode) => amount.map((a) => money(a, c))

describe('money arithmetic', () => {
  it('add is commutative and associative, with zero as identity', () => {
    fc.assert(
      fc.property(
        currency.chain((c) => fc.tuple(moneyIn(c), moneyIn(c), moneyIn(c))),
        ([a, b, c]) => {
          expect(add(a, b)).toEqual(add(b, a))
          expect(add(add(a, b), c)).toEqual(add(a, add(b, c)))
          expect(add(a, money(0, a.currency))).toEqual(a)
        },
      ),
    )
  })

  it('subtract undoes add and negate is its own inverse', () => {
    fc.assert(
      fc.property(
        currency.chain((c) => fc.tuple(moneyIn(c), moneyIn(c))),
        ([a, b]) => {
          expect(subtract(add(a, b), b)).toEqual(a)
          expect(negate(negate(a))).toEqual(a)
          expect(add(a, negate(a))).toEqual(money(0, a.currency))
        },
      ),
    )
  })

  it('compare is a total order consistent with subtract', () => {
    fc.assert(
      fc.property(
        currency.chain((c) => fc.tuple(moneyIn(c), moneyIn(c))),
        ([a, b]) => {
          expect(compare(a, b)).toBe(Math.sign(subtract(a, b).amount) || 0)
          expect(compare(a, b)).toBe(-compare(b, a) || 0)
        },
      ),
    )
  })

  it('refuses to mix currencies, fractions and unsafe integers', () => {
    expect(() => add(money(1, 'USD'), money(1, 'EUR'))).toThrow(InvariantViolation)
    expect(() => money(1.5, 'USD')).toThrow(InvariantViolation)
    expect(() => money(Number.MAX_SAFE_INTEGER + 1, 'USD')).toThrow(InvariantViolation)
    expect(() => add(money(Number.MAX_SAFE_INTEGER, 'USD'), money(1, 'USD'))).toThrow(
      InvariantViolation,
    )
    expect(() => money(1, 'XXX' as CurrencyCode)).toThrow(InvariantViolation)
  })

  it('allocate loses no minor unit and never hands more than one extra unit to a part', () => {
    fc.assert(
      fc.property(
        currency,
        amount,
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 8 }),
        (c, a, weights) => {
          fc.pre(weights.some((w) => w > 0))
          const total = money(a, c)
          const parts = allocate(total, weights)
          expect(sum(parts, c)).toEqual(total)
          const weightSum = weights.reduce((s, w) => s + w, 0)
          parts.forEach((p, i) => {
            const exact = (Math.abs(a) * (weights[i] ?? 0)) / weightSum
            expect(Math.abs(Math.abs(p.amount) - exact)).toBeLessThan(1 + 1e-6 * Math.abs(a))
            if (weights[i] === 0) expect(p.amount).toBe(0)
          })
        },
      ),
    )
  })

  it('splits 100 cents three ways as 34/33/33', () => {
    expect(allocate(money(100, 'USD'), [1, 1, 1]).map((m) => m.amount)).toEqual([34, 33, 33])
  })
})

describe('decimal strings', () => {
  it('round-trips every amount in every currency', () => {
    fc.assert(
      fc.property(currency, amount, (c, a) => {
        const m = money(a, c)
        expect(fromDecimalString(toDecimalString(m), c)).toEqual(m)
      }),
    )
  })

  it('uses the ISO 4217 exponent of each currency', () => {
    expect(toDecimalString(money(1234, 'USD'))).toBe('12.34')
    expect(toDecimalString(money(1234, 'JPY'))).toBe('1234')
    expect(toDecimalString(money(1234, 'KWD'))).toBe('1.234')
    expect(toDecimalString(money(-5, 'EUR'))).toBe('-0.05')
  })

  it('rejects amounts finer than the currency allows', () => {
    expect(fromDecimalString('1.234', 'USD')).toBeUndefined()
    expect(fromDecimalString('1.5', 'JPY')).toBeUndefined()
    expect(fromDecimalString('1e3', 'USD')).toBeUndefined()
    expect(fromDecimalString('12.3', 'USD')).toEqual(money(1230, 'USD'))
  })
})
