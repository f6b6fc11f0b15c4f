import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

let region: TestRegion
let pendingId: string
beforeAll(async () => {
  region = await startTestRegion('ops')
  const res = await region
    .client()
    .post(
      '/v1/payments',
      { amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', capture_method: 'manual' },
      'ops-create',
    )
  pendingId = res.json.id
})
afterAll(async () => {
  await region?.stop()
})

describe('capture, cancel and refund before the processor has answered', () => {
  it.each([
    ['capture', {}, 'captured'],
    ['cancel', {}, 'canceled'],
    ['refunds', { amount: 100 }, 'refunded'],
  ])(
    '%s on a pending payment is a 409 with the current status, and changes nothing',
    async (action, body, verb) => {
      const counts = await tableCounts(region.db)
      const res = await region
        .client()
        .post(`/v1/payments/${pendingId}/${action}`, body, `ops-${action}`)
      expect(res.status).toBe(409)
      expect(res.json.error).toMatchObject({
        type: 'conflict_error',
        code: 'payment_invalid_state',
        status: 'pending',
      })
      expect(res.json.error.message).toContain(verb)
      expect(await tableCounts(region.db)).toEqual(counts)
      // The refusal is not stored: the same key may be retried once the payment moved on.
      const again = await region
        .client()
        .post(`/v1/payments/${pendingId}/${action}`, body, `ops-${action}`)
      expect(again.status).toBe(409)
    },
  )

  it('answers 404 for an unknown payment and 400 for a bad amount, changing nothing', async () => {
    const counts = await tableCounts(region.db)
    const unknown = await region
      .client()
      .post('/v1/payments/pay_01h00000000000000000000000/capture', {}, 'ops-unknown')
    expect(unknown.status).toBe(404)
    const bad = await region
      .client()
      .post(`/v1/payments/${pendingId}/capture`, { amount: -3 }, 'ops-bad')
    expect(bad.status).toBe(400)
    expect(bad.json.error).toMatchObject({ code: 'amount_invalid', param: 'amount' })
    const noKey = await region.client().post(`/v1/payments/${pendingId}/cancel`, {}, undefined)
    expect(noKey.json.error.code).toBe('idempotency_key_missing')
    expect(await tableCounts(region.db)).toEqual(counts)
  })

  it('does not let another merchant touch the payment', async () => {
    const res = await region
      .client('mer_globex')
      .post(`/v1/payments/${pendingId}/cancel`, {}, 'ops-other')
    expect(res.status).toBe(404)
  })
})
