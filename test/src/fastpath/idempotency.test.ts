import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

let region: TestRegion
beforeAll(async () => {
  region = await startTestRegion('idem')
})
afterAll(async () => {
  await region?.stop()
})

const body = { amount: 500, currency: 'eur', payment_method: 'pm_card_mastercard' }
let n = 0
const freshKey = () => `idem-${Date.now()}-${n++}`

async function paymentsWithKey(key: string): Promise<number> {
  const { rows } = await region.db.pool.query(
    'select count(*)::int as n from payments p join idempotency_keys k on k.resource_id = p.id where k.key = $1',
    [key],
  )
  return rows[0].n
}

describe('Idempotency-Key semantics', () => {
  it('replays the stored response for the same key and request, byte for byte', async () => {
    const key = freshKey()
    const first = await region.client().post('/v1/payments', body, key)
    const counts = await tableCounts(region.db)
    // Same request with keys in another order: still the same request.
    const again = await region
      .client()
      .post(
        '/v1/payments',
        { payment_method: 'pm_card_mastercard', currency: 'eur', amount: 500 },
        key,
      )
    expect(first.status).toBe(202)
    expect(again.status).toBe(202)
    expect(again.text).toBe(first.text)
    expect(again.headers.get('Idempotent-Replayed')).toBe('true')
    expect(again.headers.get('Request-Id')).not.toBe(first.headers.get('Request-Id'))
    expect(await tableCounts(region.db)).toEqual(counts)
  })

  it('answers 422 for the same key with a different request, and changes nothing', async () => {
    const key = freshKey()
    await region.client().post('/v1/payments', body, key)
    const counts = await tableCounts(region.db)
    const changed = await region.client().post('/v1/payments', { ...body, amount: 501 }, key)
    expect(changed.status).toBe(422)
    expect(changed.json.error).toMatchObject({
      type: 'idempotency_error',
      code: 'idempotency_key_reused',
    })
    expect(await tableCounts(region.db)).toEqual(counts)
  })

  it('lets exactly one of many concurrent same-key requests act; the rest replay or get 409', async () => {
    const key = freshKey()
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => region.client().post('/v1/payments', body, key)),
    )
    const statuses = responses.map((r) => r.status)
    const originals = responses.filter(
      (r) => r.status === 202 && r.headers.get('Idempotent-Replayed') === null,
    )
    expect(originals).toHaveLength(1)
    for (const r of responses) {
      if (r.status === 409) expect(r.json.error.code).toBe('idempotency_key_in_use')
      else if (r.status === 202) expect(r.text).toBe(originals[0]?.text)
      else throw new Error(`unexpected status ${r.status} in ${statuses}`)
    }
    expect(await paymentsWithKey(key)).toBe(1)
    // Once the first finished, a retry replays.
    const later = await region.client().post('/v1/payments', body, key)
    expect(later.headers.get('Idempotent-Replayed')).toBe('true')
  })

  it('scopes keys per merchant', async () => {
    const key = freshKey()
    const a = await region.client('mer_acme').post('/v1/payments', body, key)
    const b = await region.client('mer_globex').post('/v1/payments', body, key)
    expect(a.status).toBe(202)
    expect(b.status).toBe(202)
    expect(b.headers.get('Idempotent-Replayed')).toBeNull()
    expect(a.json.id).not.toBe(b.json.id)
  })

  it('loses nothing when Redis is flushed: Postgres is the truth', async () => {
    const key = freshKey()
    const first = await region.client().post('/v1/payments', body, key)
    // Drop every key this region has in Redis, as a Redis restart without persistence would.
    const keys = await region.redis.redis.keys(`${region.redis.keys.prefix}*`)
    expect(keys.length).toBeGreaterThan(0)
    await region.redis.redis.del(...keys)
    const counts = await tableCounts(region.db)
    const replay = await region.client().post('/v1/payments', body, key)
    expect(replay.status).toBe(202)
    expect(replay.text).toBe(first.text)
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true')
    const mismatch = await region.client().post('/v1/payments', { ...body, amount: 7 }, key)
    expect(mismatch.status).toBe(422)
    expect(await tableCounts(region.db)).toEqual(counts)
    expect(await paymentsWithKey(key)).toBe(1)
  })

  it('keeps records at least 24 hours (Redis TTL and Postgres retention)', async () => {
    const key = freshKey()
    await region.client().post('/v1/payments', body, key)
    await eventually(async () => {
      const ttl = await region.redis.redis.pttl(region.redis.keys.key('{mer_acme}', 'idem', key))
      expect(ttl).toBeGreaterThan(24 * 60 * 60_000)
    })
  })
})
