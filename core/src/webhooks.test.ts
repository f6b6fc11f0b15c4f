import { describe, expect, it } from 'vitest'
import { signWebhook, verifyWebhookSignature, webhookToleranceSec } from './webhooks.ts'

describe('webhook signatures', () => {
  const now = 1_800_000_000
  it('verify within the tolerance and fail outside it or when anything changed', async () => {
    const header = await signWebhook('whsec_1', '{"a":1}', now)
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/)
    expect(await verifyWebhookSignature('whsec_1', header, '{"a":1}', now + 10)).toEqual({
      ok: true,
      timestampSec: now,
    })
    expect(await verifyWebhookSignature('whsec_1', header, '{"a":2}', now)).toEqual({
      ok: false,
      reason: 'mismatch',
    })
    expect(await verifyWebhookSignature('whsec_2', header, '{"a":1}', now)).toEqual({
      ok: false,
      reason: 'mismatch',
    })
    expect(
      await verifyWebhookSignature('whsec_1', header, '{"a":1}', now + webhookToleranceSec + 1),
    ).toEqual({
      ok: false,
      reason: 'expired',
    })
    expect(await verifyWebhookSignature('whsec_1', null, '{}', now)).toEqual({
      ok: false,
      reason: 'missing',
    })
    expect(await verifyWebhookSignature('whsec_1', 't=abc', '{}', now)).toEqual({
      ok: false,
      reason: 'malformed',
    })
  })

  it('accepts any of several signatures while a secret rolls', async () => {
    const fresh = await signWebhook('whsec_new', 'x', now)
    const old = (await signWebhook('whsec_old', 'x', now)).split(',')[1]
    expect((await verifyWebhookSignature('whsec_new', `${fresh},${old}`, 'x', now)).ok).toBe(true)
    expect((await verifyWebhookSignature('whsec_old', `${fresh},${old}`, 'x', now)).ok).toBe(true)
  })
})
