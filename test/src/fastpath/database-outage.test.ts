import { setDatabaseReachable } from '@meridian/local'
import { createPool, databaseUrl } from '@meridian/platform'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiResponse } from '../harness/client.ts'
import { eventually } from '../harness/eventually.ts'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

const payment = { amount: 2500, currency: 'eur', payment_method: 'pm_card_visa' }

/** Take the region's database away (or give it back), as an outage does. */
async function setReachable(name: string, reachable: boolean): Promise<void> {
  const admin = createPool({ url: databaseUrl(), poolSizeMax: 1 })
  try {
    await setDatabaseReachable(admin, name, reachable)
  } finally {
    await admin.end()
  }
}

describe('the region API while its database is out of reach', () => {
  let region: TestRegion
  let database: string
  let existingId: string
  beforeAll(async () => {
    // Its own database: closing it must not touch the other test files.
    region = await startTestRegion('dbout', 'us-east', {}, { ownDatabase: true })
    database = new URL(region.db.url).pathname.slice(1)
    const created = await region.client().post('/v1/payments', payment, 'dbout-before')
    expect(created.status).toBe(202)
    existingId = created.json.id
  })
  afterAll(async () => {
    if (database) await setReachable(database, true)
    await region?.stop()
  })

  it('answers 503 dependency_unavailable with Retry-After, and a retry succeeds once it is back', async () => {
    await setReachable(database, false)
    const refused = await region.client().post('/v1/payments', payment, 'dbout-during')
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(refused.json.error).toMatchObject({
      type: 'unavailable_error',
      code: 'dependency_unavailable',
    })
    expect(refused.json.error.message).toContain('Idempotency-Key')
    const read = await region.client().get(`/v1/payments/${existingId}`)
    expect(read.status).toBe(503)
    expect(read.json.error.code).toBe('dependency_unavailable')

    await setReachable(database, true)
    const counts = await tableCounts(region.db)
    // The refused request left no trace: the same key now creates the payment, exactly once.
    let retried: ApiResponse | undefined
    await eventually(async () => {
      retried = await region.client().post('/v1/payments', payment, 'dbout-during')
      expect(retried.status).toBe(202)
    })
    const again = await region.client().post('/v1/payments', payment, 'dbout-during')
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.json.id).toBe(retried?.json.id)
    const after = await tableCounts(region.db)
    expect(after.payments).toBe((counts.payments ?? 0) + 1)
  })
})
