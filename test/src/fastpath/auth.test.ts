import { edgeSignatureHeader, samplePlacement, signEdgeRequest } from '@meridian/core'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedPlacements } from '../harness/placements.ts'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

let region: TestRegion
beforeAll(async () => {
  region = await startTestRegion('auth')
})
afterAll(async () => {
  await region?.stop()
})

const body = { amount: 100, currency: 'usd', payment_method: 'pm_card_visa' }

describe('regions accept only edge-signed requests', () => {
  it.each([
    ['unsigned', { unsigned: true }, 'signature_missing'],
    [
      'stale (signed 10 minutes ago)',
      { signedAtSec: Math.floor(Date.now() / 1000) - 600 },
      'signature_expired',
    ],
    ['signed with another secret', { secret: 'not-the-edge-secret-at-all' }, 'signature_invalid'],
  ])('refuses a %s request with 401 and changes nothing', async (_name, options, code) => {
    const counts = await tableCounts(region.db)
    const res = await region
      .client()
      .request('POST', '/v1/payments', { body, idempotencyKey: `k-${code}`, ...options })
    expect(res.status).toBe(401)
    expect(res.json.error).toMatchObject({ type: 'authentication_error', code })
    expect(await tableCounts(region.db)).toEqual(counts)
  })

  it('refuses a body changed after signing', async () => {
    const counts = await tableCounts(region.db)
    const signature = await signEdgeRequest(region.secret, {
      method: 'POST',
      path: '/v1/payments',
      merchantId: 'mer_acme',
      epoch: 1,
      region: 'us-east',
      body: JSON.stringify(body),
    })
    const res = await fetch(`${region.client().baseUrl}/v1/payments`, {
      method: 'POST',
      headers: { 'Idempotency-Key': 'k-tamper', [edgeSignatureHeader]: signature },
      body: JSON.stringify({ ...body, amount: 100_000 }),
    })
    expect(res.status).toBe(401)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('signature_invalid')
    expect(await tableCounts(region.db)).toEqual(counts)
  })

  it('refuses reads without a signature too, and never shows one merchant another’s payment', async () => {
    const created = await region.client('mer_acme').post('/v1/payments', body, 'k-owner')
    expect(
      (await region.client().get(`/v1/payments/${created.json.id}`, { unsigned: true })).status,
    ).toBe(401)
    const other = await region.client('mer_globex').get(`/v1/payments/${created.json.id}`)
    expect(other.status).toBe(404)
    expect(other.json.error.code).toBe('resource_missing')
    const list = await region.client('mer_globex').get('/v1/payments')
    expect(list.json.data.map((p: { id: string }) => p.id)).not.toContain(created.json.id)
  })

  it('fences: refuses a request the edge routed to another region, or by a stale registry', async () => {
    const counts = await tableCounts(region.db)
    const misrouted = await region
      .client()
      .routedAs('eu-west')
      .post('/v1/payments', body, 'k-misrouted')
    expect(misrouted.status).toBe(409)
    expect(misrouted.json.error).toMatchObject({ type: 'conflict_error', code: 'region_not_owner' })
    // The epoch is checked against the placement the region holds, inside the write's transaction.
    await seedPlacements(region.db, [
      { ...samplePlacement('mer_acme'), merchantId: 'mer_moved_on', epoch: 2 },
    ])
    const stale = await region
      .client('mer_moved_on')
      .routedAs('us-east', 1)
      .post('/v1/payments', body, 'k-stale')
    expect(stale.status).toBe(409)
    expect(stale.json.error.code).toBe('placement_stale')
    expect(await tableCounts(region.db)).toEqual(counts)
  })

  it('leaves health, readiness, metrics and the OpenAPI document open for operators', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      const res = await fetch(`${region.client().baseUrl}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('Meridian-Region')).toBe('us-east')
    }
  })
})
