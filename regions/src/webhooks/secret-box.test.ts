import { randomBytes } from 'node:crypto'
import { Secret } from '@meridian/core'
import { describe, expect, it } from 'vitest'
import { keyRingFromText, openSecret, sealSecret } from './secret-box.ts'

const k = () => randomBytes(32).toString('base64')

describe('webhook secret envelope encryption', () => {
  const old = `k1:${k()}`
  const next = `k2:${k()}`
  const secret = new Secret('whsec_0123456789abcdef')

  it('round-trips, and the sealed form holds neither the secret nor the key', () => {
    const ring = keyRingFromText(old)
    const sealed = sealSecret(ring, secret, 'we_1')
    expect(sealed).not.toContain('whsec_')
    expect(sealed.startsWith('wse1.k1.')).toBe(true)
    expect(openSecret(ring, sealed, 'we_1').reveal()).toBe(secret.reveal())
    expect(sealSecret(ring, secret, 'we_1')).not.toBe(sealed)
  })

  it('rotates: new secrets seal with the first key, old ones still open', () => {
    const sealedOld = sealSecret(keyRingFromText(old), secret, 'we_1')
    const rotated = keyRingFromText(`${next},${old}`)
    expect(openSecret(rotated, sealedOld, 'we_1').reveal()).toBe(secret.reveal())
    expect(sealSecret(rotated, secret, 'we_1').startsWith('wse1.k2.')).toBe(true)
    expect(() => openSecret(keyRingFromText(next), sealedOld, 'we_1')).toThrow(/k1/)
  })

  it('refuses a value moved to another endpoint or altered', () => {
    const ring = keyRingFromText(old)
    const sealed = sealSecret(ring, secret, 'we_1')
    expect(() => openSecret(ring, sealed, 'we_2')).toThrow()
    const parts = sealed.split('.')
    const ciphertext = parts[5] ?? ''
    // Always a different first character: 'A' alone left one value in 64 unaltered (a CI flake).
    parts[5] = `${ciphertext.startsWith('A') ? 'B' : 'A'}${ciphertext.slice(1)}`
    expect(parts[5]).not.toBe(ciphertext)
    expect(() => openSecret(ring, parts.join('.'), 'we_1')).toThrow()
  })

  const key = k()
  it.each([
    ['empty', ''],
    ['no colon', 'nocolon'],
    ['a short key', 'k1:short'],
    ['a bad id', `bad id:${key}`],
    ['a missing comma', `k1:${key}k2:${k()}`],
    ['stray characters in the key', `k1:${key.slice(0, 20)}!${key.slice(20)}`],
    ['text after the padding', `k1:${key}AAAA`],
    ['a duplicate id', `k1:${key},k1:${k()}`],
  ])('refuses key text with %s, without echoing it', (_, text) => {
    expect(() => keyRingFromText(text)).toThrow(/WEBHOOK_SECRET_KEYS/)
    try {
      keyRingFromText(text)
    } catch (error) {
      if (key.length > 0) expect(String(error)).not.toContain(key.slice(0, 16))
    }
  })

  it('refuses a value too short to hold a full tag, or with an IV of another length', () => {
    const ring = keyRingFromText(old)
    const parts = sealSecret(ring, secret, 'we_1').split('.')
    const body = Buffer.from(parts[5] ?? '', 'base64url')
    // Four bytes: Node would take them as a (truncated) tag unless told the tag's length.
    const short = [...parts]
    short[5] = body.subarray(body.length - 4).toString('base64url')
    expect(() => openSecret(ring, short.join('.'), 'we_1')).toThrow(/malformed/)
    const longIv = [...parts]
    longIv[4] = Buffer.alloc(16).toString('base64url')
    expect(() => openSecret(ring, longIv.join('.'), 'we_1')).toThrow(/malformed/)
  })
})
