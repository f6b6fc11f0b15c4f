import { describe, expect, it } from 'vitest'
import { envelope } from './events.ts'
import { newId } from './ids.ts'
import { newPayment } from './payments.ts'
import {
  presentWebhookEvent,
  signWebhook,
  verifyWebhookSignature,
  webhookToleranceSec,
} from './webhooks.ts'

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

  it('signs with every secret given, newest first, under one timestamp', async () => {
    const both = await signWebhook(['whsec_new', 'whsec_old'], 'x', now)
    expect(both.split(',')).toEqual([
      `t=${now}`,
      (await signWebhook('whsec_new', 'x', now)).split(',')[1],
      (await signWebhook('whsec_old', 'x', now)).split(',')[1],
    ])
    for (const secret of ['whsec_new', 'whsec_old'])
      expect((await verifyWebhookSignature(secret, both, 'x', now)).ok).toBe(true)
    expect((await verifyWebhookSignature('whsec_other', both, 'x', now)).ok).toBe(false)
    await expect(signWebhook([], 'x', now)).rejects.toThrow(/at least one secret/)
  })
})

describe('webhook event bodies', () => {
  it('say which capture or cancel failed, its id and why', () => {
    const payment = newPayment({
      id: 'pay_1',
      merchantId: 'mer_acme',
      amount: 500,
      currency: 'USD',
      captureMethod: 'manual',
      paymentMethod: 'pm_card_visa',
      description: null,
      metadata: {},
      originRegion: 'eu-west',
      hlc: { wallMs: 1_800_000_000_000, logical: 0, node: 'eu-west' },
    })
    const event = envelope({
      id: newId('event'),
      type: 'payment.operation_failed',
      merchantId: 'mer_acme',
      originRegion: 'eu-west',
      hlc: { wallMs: 1_800_000_000_000, logical: 1, node: 'eu-west' },
      payload: {
        payment,
        code: 'payment_captured',
        operation: {
          id: 'op_1',
          paymentId: 'pay_1',
          merchantId: 'mer_acme',
          kind: 'cancel',
          amount: 0,
          currency: 'USD',
          reason: null,
          status: 'failed',
          failureCode: 'payment_captured',
          failureMessage: 'The payment could not be canceled: it is captured.',
          originRegion: 'eu-west',
          createdAtMs: 0,
        },
      },
    })
    expect(presentWebhookEvent(event, 1_800_000_000).data).toMatchObject({
      object: { id: 'pay_1', object: 'payment' },
      operation: 'cancel',
      operation_id: 'op_1',
      code: 'payment_captured',
      failure_message: 'The payment could not be canceled: it is captured.',
    })
  })
})
