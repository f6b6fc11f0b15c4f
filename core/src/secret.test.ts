import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { Secret } from './secret.ts'

describe('Secret', () => {
  it('masks itself however it is printed', () => {
    const key = new Secret('sk_live_abc123')
    const printed = [
      String(key),
      `${key}`,
      JSON.stringify({ key }),
      inspect({ nested: { key } }),
      inspect(key, { showHidden: true }),
    ]
    for (const text of printed) expect(text).not.toContain('abc123')
    expect(key.reveal()).toBe('sk_live_abc123')
  })
})
