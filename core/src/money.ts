import { type CurrencyCode, currencyExponents, isCurrencyCode } from './currencies.ts'
import { invariant } from './invariant.ts'

/**
 * Money is an integer count of a currency's minor units (cents, yen, fils). No floats anywhere:
 * arithmetic stays in safe integers and every operation asserts that it did.
 */
export interface Money {
  readonly amount: number
  readonly currency: CurrencyCode
}

/**
 * The largest amount one payment may carry, in minor units. Ten billion minor units is
 * 100,000,000.00 in a two-decimal currency; anything larger is a typo or an attack.
 */
export const paymentAmountMinorMax = 10_000_000_000

export function isMinorAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value)
}

export function money(amount: number, currency: CurrencyCode): Money {
  invariant(isMinorAmount(amount), `amount must be a safe integer, got ${amount}`)
  invariant(isCurrencyCode(currency), `unknown currency ${currency}`)
  return { amount, currency }
}

export function exponentOf(currency: CurrencyCode): number {
  return currencyExponents[currency]
}

function sameCurrency(a: Money, b: Money): void {
  invariant(a.currency === b.currency, `currency mismatch: ${a.currency} vs ${b.currency}`)
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b)
  return money(a.amount + b.amount, a.currency)
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b)
  return money(a.amount - b.amount, a.currency)
}

export function negate(a: Money): Money {
  // `0 - x` rather than `-x`: negating zero must give 0, not -0, or deep equality breaks.
  return money(0 - a.amount, a.currency)
}

export function compare(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency(a, b)
  return a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0
}

export function isZero(a: Money): boolean {
  return a.amount === 0
}

/** Sum of many amounts of one currency; an empty list sums to zero in `currency`. */
export function sum(items: readonly Money[], currency: CurrencyCode): Money {
  let total = money(0, currency)
  for (const item of items) total = add(total, item)
  return total
}

/**
 * Split `total` into parts proportional to `weights` with no minor unit lost: the remainder left
 * by integer division goes, one unit at a time, to the largest weights first.
 */
export function allocate(total: Money, weights: readonly number[]): Money[] {
  invariant(weights.length > 0, 'allocate needs at least one weight')
  invariant(
    weights.every((w) => Number.isSafeInteger(w) && w >= 0),
    'weights must be non-negative integers',
  )
  const weightSum = weights.reduce((s, w) => s + w, 0)
  invariant(weightSum > 0, 'weights must not all be zero')
  const sign = total.amount < 0 ? -1 : 1
  const magnitude = BigInt(Math.abs(total.amount))
  const parts = weights.map((w) => (magnitude * BigInt(w)) / BigInt(weightSum))
  let remainder = magnitude - parts.reduce((s, p) => s + p, 0n)
  const order = weights.map((w, i) => ({ w, i })).sort((x, y) => y.w - x.w || x.i - y.i)
  for (let k = 0; remainder > 0n; k = (k + 1) % order.length) {
    const slot = order[k]
    invariant(slot !== undefined, 'allocation order is non-empty')
    if (slot.w === 0) continue
    parts[slot.i] = (parts[slot.i] ?? 0n) + 1n
    remainder -= 1n
  }
  return parts.map((p) => money(sign < 0 ? 0 - Number(p) : Number(p), total.currency))
}

/**
 * Decimal string for display and for processors that want major units ("12.34", "-0.05",
 * "1000" for JPY). Built from integer digits only, so no binary rounding can creep in.
 */
export function toDecimalString(a: Money): string {
  const exponent = exponentOf(a.currency)
  const digits = Math.abs(a.amount)
    .toString()
    .padStart(exponent + 1, '0')
  const sign = a.amount < 0 ? '-' : ''
  if (exponent === 0) return `${sign}${digits}`
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`
}

/** Inverse of toDecimalString; returns undefined for anything that is not exact in minor units. */
export function fromDecimalString(text: string, currency: CurrencyCode): Money | undefined {
  const exponent = exponentOf(currency)
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text)
  if (!match) return undefined
  const [, sign, whole = '', fraction = ''] = match
  if (fraction.length > exponent) return undefined
  const minor = Number(`${whole}${fraction.padEnd(exponent, '0')}`)
  if (!Number.isSafeInteger(minor)) return undefined
  return money(sign === '-' ? 0 - minor : minor, currency)
}
