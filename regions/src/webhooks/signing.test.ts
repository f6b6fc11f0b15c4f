import { randomBytes } from 'node:crypto'
import { MeridianError, Secret } from '@meridian/core'
import { describe, expect, it } from 'vitest'
import { signingSecrets } from './deliverer.ts'
import { revealStoredSecret } from './endpoints.ts'
import { keyRingFromText, sealSecret } from './secret-box.ts'

const ring = (id: string) => keyRingFromText(`${id}:${randomBytes(32).toString('base64')}`)
const k1 = ring('k1')
const k2 = ring('k2')
const both = { keys: [...k2.keys, ...k1.keys] }

describe('opening secrets when the key ring is not what sealed them', () => {
  const older = sealSecret(k1, new Secret('whsec_older'), 'we_1')
  const newer = sealSecret(k2, new Secret('whsec_newer'), 'we_1')
  const secrets = [{ sealed: newer }, { sealed: older, expiresMs: 2_000 }]

  it('a delivery signs with every valid secret that opens, and names the others', () => {
    expect(signingSecrets(both, 'we_1', secrets, 1_000)).toEqual({
      secrets: ['whsec_newer', 'whsec_older'],
      unopened: [],
    })
    const partial = signingSecrets(k2, 'we_1', secrets, 1_000)
    expect(partial.secrets).toEqual(['whsec_newer'])
    expect(partial.unopened).toEqual([expect.stringContaining('k1')])
    expect(JSON.stringify(partial.unopened)).not.toContain('whsec_')
    // Expired secrets are not even tried.
    expect(signingSecrets(k2, 'we_1', secrets, 3_000)).toEqual({
      secrets: ['whsec_newer'],
      unopened: [],
    })
  })

  it('fails the attempt only when no valid secret opens', () => {
    expect(() => signingSecrets(ring('k3'), 'we_1', secrets, 1_000)).toThrow(/no signing secret/)
    expect(() => signingSecrets(both, 'we_1', [], 1_000)).toThrow(/roll it/)
  })

  it('a stored answer whose key this region lacks is a retryable 503, not a 500', () => {
    const body = JSON.stringify({ id: 'we_1', object: 'webhook_endpoint', secret: older })
    expect(JSON.parse(revealStoredSecret(both, body)).secret).toBe('whsec_older')
    let thrown: unknown
    try {
      revealStoredSecret(k2, body)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(MeridianError)
    expect((thrown as MeridianError).kind).toBe('unavailable')
    // Bodies that are not a webhook endpoint's pass untouched, whatever they contain.
    const other = JSON.stringify({ id: 'pay_1', object: 'payment', description: 'wse1.x' })
    expect(revealStoredSecret(k2, other)).toBe(other)
  })
})
