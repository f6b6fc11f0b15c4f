import { describe, expect, it } from 'vitest'
import { idTimeMs, isId, newId } from './ids.ts'

describe('ids', () => {
  it('have the kind prefix and a 26-character base32 UUIDv7 body', () => {
    const id = newId('payment')
    expect(id).toMatch(/^pay_[0-7][0-9a-hjkmnp-tv-z]{25}$/)
    expect(isId('payment', id)).toBe(true)
    expect(isId('event', id)).toBe(false)
  })

  it('sort in creation order even within one millisecond', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('event', 1_700_000_000_000))
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('carry their creation time', () => {
    expect(idTimeMs(newId('payment', 1_800_000_000_123))).toBe(1_800_000_000_123)
  })

  it('reject malformed text', () => {
    const good = newId('payment')
    for (const bad of [
      '',
      'pay_',
      good.toUpperCase(),
      `${good}0`,
      good.replace(/.$/, 'u'),
      `pay_8${good.slice(5)}`,
      'pay_00000000000000000000000000',
    ]) {
      expect(isId('payment', bad), bad).toBe(false)
    }
  })
})
