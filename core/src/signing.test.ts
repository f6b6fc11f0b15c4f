import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  constantTimeEqual,
  edgeSignatureToleranceSec,
  parseEdgeSignature,
  signEdgeRequest,
  verifyEdgeSignature,
} from './signing.ts'

const secret = 'test-edge-secret'
const request = {
  method: 'POST',
  path: '/v1/payments',
  merchantId: 'mer_acme',
  epoch: 3,
  region: 'us-east',
  body: '{"amount":100}',
}
const now = 1_800_000_000

describe('edge request signatures', () => {
  it('verify when nothing was changed', async () => {
    const header = await signEdgeRequest(secret, request, now)
    expect(await verifyEdgeSignature(secret, header, request, now + 10)).toEqual({
      ok: true,
      merchantId: 'mer_acme',
      epoch: 3,
      region: 'us-east',
    })
  })

  it('fail when any signed part changes', async () => {
    const header = await signEdgeRequest(secret, request, now)
    const parsed = parseEdgeSignature(header)
    if (!parsed) throw new Error('unparseable')
    const variants = [
      { ...request, method: 'GET' },
      { ...request, path: '/v1/payments?x=1' },
      { ...request, body: '{"amount":1000}' },
    ]
    for (const v of variants) {
      expect(await verifyEdgeSignature(secret, header, v, now)).toEqual({
        ok: false,
        reason: 'mismatch',
      })
    }
    const otherMerchant = header.replace('m=mer_acme', 'm=mer_globex')
    expect((await verifyEdgeSignature(secret, otherMerchant, request, now)).ok).toBe(false)
    const otherEpoch = header.replace('e=3', 'e=4')
    expect((await verifyEdgeSignature(secret, otherEpoch, request, now)).ok).toBe(false)
    const otherRegion = header.replace('r=us-east', 'r=eu-west')
    expect((await verifyEdgeSignature(secret, otherRegion, request, now)).ok).toBe(false)
    expect((await verifyEdgeSignature('other-secret', header, request, now)).ok).toBe(false)
  })

  it('expire outside the tolerance window, in both directions', async () => {
    const header = await signEdgeRequest(secret, request, now)
    const late = now + edgeSignatureToleranceSec + 1
    const early = now - edgeSignatureToleranceSec - 1
    expect(await verifyEdgeSignature(secret, header, request, late)).toEqual({
      ok: false,
      reason: 'expired',
    })
    expect(await verifyEdgeSignature(secret, header, request, early)).toEqual({
      ok: false,
      reason: 'expired',
    })
    expect(
      (await verifyEdgeSignature(secret, header, request, now + edgeSignatureToleranceSec)).ok,
    ).toBe(true)
  })

  it('reject missing and malformed headers', async () => {
    expect(await verifyEdgeSignature(secret, undefined, request, now)).toEqual({
      ok: false,
      reason: 'missing',
    })
    for (const bad of [
      'garbage',
      't=1,m=mer_acme,e=1,r=us-east',
      't=x,m=mer_acme,e=1,v1=00',
      't=1,m=mer_acme,e=1,v1=zz',
    ]) {
      expect(await verifyEdgeSignature(secret, bad, request, now)).toEqual({
        ok: false,
        reason: 'malformed',
      })
    }
  })

  it('constant-time compare agrees with ===', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b)
        expect(constantTimeEqual(a, a)).toBe(true)
      }),
    )
  })
})

describe('crypto providers', () => {
  it('node:crypto and WebCrypto agree', async () => {
    const { createHash, createHmac } = await import('node:crypto')
    const { webCryptoProvider } = await import('./signing.ts')
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.string({ minLength: 1 }),
        async (data, key) => {
          expect(await webCryptoProvider.sha256Hex(data)).toBe(
            createHash('sha256').update(data).digest('hex'),
          )
          expect(await webCryptoProvider.hmacSha256Hex(key, data)).toBe(
            createHmac('sha256', key).update(data).digest('hex'),
          )
        },
      ),
      { numRuns: 50 },
    )
  })
})

describe('edge signature key mode', () => {
  const request = {
    method: 'POST',
    path: '/v1/x',
    merchantId: 'mer_1',
    epoch: 1,
    region: 'us-east',
    body: '{}',
  }
  it('carries a signed mode that cannot be changed', async () => {
    const header = await signEdgeRequest('secret-secret-secret', { ...request, mode: 'live' })
    expect(header).toContain(',k=live,')
    const ok = await verifyEdgeSignature('secret-secret-secret', header, request)
    expect(ok).toMatchObject({ ok: true, mode: 'live' })
    const tampered = header.replace('k=live', 'k=test')
    expect(await verifyEdgeSignature('secret-secret-secret', tampered, request)).toEqual({
      ok: false,
      reason: 'mismatch',
    })
    const dropped = header.replace(',k=live', '')
    expect((await verifyEdgeSignature('secret-secret-secret', dropped, request)).ok).toBe(false)
  })
})
