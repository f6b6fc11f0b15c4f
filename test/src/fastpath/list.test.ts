import { paymentListSchema } from '@meridian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestRegion, type TestRegion } from '../harness/region.ts'

let region: TestRegion
const created: string[] = []
beforeAll(async () => {
  region = await startTestRegion('list')
  for (let i = 0; i < 7; i++) {
    const res = await region
      .client('mer_lister')
      .post(
        '/v1/payments',
        { amount: 100 + i, currency: 'gbp', payment_method: `tok_l${i}` },
        `list-${i}`,
      )
    created.push(res.json.id)
  }
})
afterAll(async () => {
  await region?.stop()
})

describe('GET /v1/payments and /v1/payments/{id}', () => {
  it('pages newest first with starting_after until has_more is false', async () => {
    const client = region.client('mer_lister')
    const seen: string[] = []
    let cursor: string | undefined
    for (let page = 0; page < 5; page++) {
      const res = await client.get(
        `/v1/payments?limit=3${cursor ? `&starting_after=${cursor}` : ''}`,
      )
      expect(res.status).toBe(200)
      const list = paymentListSchema.parse(res.json)
      seen.push(...list.data.map((p) => p.id))
      cursor = list.data.at(-1)?.id
      if (!list.has_more) break
    }
    expect(seen).toEqual([...created].reverse())
  })

  it('retrieves one payment and 404s an unknown or malformed id', async () => {
    const client = region.client('mer_lister')
    const one = await client.get(`/v1/payments/${created[0]}`)
    expect(one.json).toMatchObject({ id: created[0], amount: 100, currency: 'gbp' })
    const unknown = await client.get('/v1/payments/pay_01h00000000000000000000000')
    expect(unknown.status).toBe(404)
    const malformed = await client.get('/v1/payments/not-an-id')
    expect(malformed.status).toBe(404)
    expect(malformed.json.error).toMatchObject({
      type: 'not_found_error',
      code: 'resource_missing',
    })
  })

  it('rejects bad paging parameters', async () => {
    const client = region.client('mer_lister')
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'color=red']) {
      const res = await client.get(`/v1/payments?${q}`)
      expect(res.status, q).toBe(400)
    }
  })

  it('answers unknown routes with a 404 error object', async () => {
    const res = await region.client().get('/v1/nothing-here')
    expect(res.status).toBe(404)
    expect(res.json.error.code).toBe('route_missing')
  })
})
