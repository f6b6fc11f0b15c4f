import { fleet, newId, newPlacement, type Placement } from '@meridian/core'
import { createPool } from '@meridian/platform'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { controlClient, seedPlacements } from '../harness/placements.ts'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

/**
 * A region admits each write by the placement it holds for the merchant, inside the write's own
 * transaction (docs/control-plane.md): residency, the epoch a planned move is leaving (fence),
 * the newest epoch it knows. Reads are never fenced. The control plane's /internal/v1 sets
 * placements and fences, and a fence's barrier holds the marker until every write admitted
 * before the fence has committed.
 */
let region: TestRegion
beforeAll(async () => {
  region = await startTestRegion('placements')
})
afterAll(async () => {
  await region?.stop()
})

const body = { amount: 700, currency: 'usd', payment_method: 'pm_card_visa' }
let merchants = 0

/** A merchant of its own per test, homed here (us-east), at `epoch`. */
function placementAt(epoch: number, residency: Placement['residency'] = 'global'): Placement {
  merchants += 1
  const home = residency === 'eu' ? 'eu-west' : 'us-east'
  const p = newPlacement(fleet, { merchantId: `mer_place_${merchants}`, home, residency })
  return { ...p, epoch }
}

const as = (merchantId: string, epoch: number) =>
  region.client(merchantId).routedAs('us-east', epoch)

async function fence(p: Placement) {
  return controlClient(region, p.merchantId, p.epoch).request(
    'POST',
    `/internal/v1/placements/${p.merchantId}/fence`,
    { body: { placement: p } },
  )
}

async function markers(merchantId: string): Promise<number> {
  const { rows } = await region.db.pool.query<{ n: number }>(
    `select count(*)::int as n from outbox where merchant_id = $1 and type = 'merchant.placement_changed'`,
    [merchantId],
  )
  return rows[0]?.n ?? 0
}

describe('writes are admitted by the placement the region holds', () => {
  it('refuses a write routed by an older epoch (409 placement_stale), writes nothing, and still answers reads', async () => {
    const p = placementAt(2)
    await seedPlacements(region.db, [p])
    const current = as(p.merchantId, 2)
    const stale = as(p.merchantId, 1)
    const made = await current.post('/v1/payments', body, 'k-made')
    expect(made.status).toBe(202)

    const before = await tableCounts(region.db)
    const create = await stale.post('/v1/payments', body, 'k-stale')
    expect(create.status).toBe(409)
    expect(create.json.error).toMatchObject({ code: 'placement_stale' })
    const capture = await stale.post(`/v1/payments/${made.json.id}/cancel`, {}, 'k-stale-cancel')
    expect(capture.status).toBe(409)
    expect(capture.json.error).toMatchObject({ code: 'placement_stale' })
    const endpoint = await stale.post(
      '/v1/webhook_endpoints',
      { url: 'http://127.0.0.1:9/hook', enabled_events: ['*'] },
      'k-stale-endpoint',
    )
    expect(endpoint.status).toBe(409)
    expect(endpoint.json.error).toMatchObject({ code: 'placement_stale' })
    expect(await tableCounts(region.db)).toEqual(before)
    const { rows } = await region.db.pool.query(
      'select count(*)::int as n from webhook_endpoints where merchant_id = $1',
      [p.merchantId],
    )
    expect(rows[0].n).toBe(0)

    // Reads are never fenced.
    const read = await stale.get(`/v1/payments/${made.json.id}`)
    expect(read.status).toBe(200)
    expect((await stale.get('/v1/payments')).status).toBe(200)

    // The refusal released the key's claim: the retry routed by the current epoch is served.
    const retried = await current.post('/v1/payments', body, 'k-stale')
    expect(retried.status).toBe(202)
  })

  it('after a fence at N refuses writes at N (503 merchant_moving, Retry-After 1) and accepts N+1', async () => {
    const p = placementAt(2)
    await seedPlacements(region.db, [p])
    const fenced = await fence(p)
    expect(fenced.status).toBe(200)
    expect(fenced.json).toMatchObject({ region: 'us-east', fencedEpoch: 2 })
    expect(fenced.json.markerEventId).toMatch(/^evt_/)

    const before = await tableCounts(region.db)
    const moving = await as(p.merchantId, 2).post('/v1/payments', body, 'k-move')
    expect(moving.status).toBe(503)
    expect(moving.json.error).toMatchObject({ code: 'merchant_moving' })
    expect(moving.headers.get('Retry-After')).toBe('1')
    expect(await tableCounts(region.db)).toEqual(before)

    const next = { ...p, epoch: 3 }
    const put = await controlClient(region, p.merchantId, 3).request(
      'PUT',
      `/internal/v1/placements/${p.merchantId}`,
      { body: next },
    )
    expect(put.status).toBe(200)
    expect(put.json).toEqual({ placement: next, fencedEpoch: 2 })
    // The same key, now routed by the new epoch: served, not answered 409 in flight.
    const accepted = await as(p.merchantId, 3).post('/v1/payments', body, 'k-move')
    expect(accepted.status).toBe(202)
  })

  it('fencing again at an epoch already fenced returns the same marker and writes no event', async () => {
    const p = placementAt(4)
    await seedPlacements(region.db, [p])
    const first = await fence(p)
    expect(first.status).toBe(200)
    expect(await markers(p.merchantId)).toBe(1)
    const again = await fence(p)
    expect(again.status).toBe(200)
    expect(again.json).toEqual(first.json)
    const older = await fence({ ...p, epoch: 3 })
    expect(older.json).toEqual(first.json)
    expect(await markers(p.merchantId)).toBe(1)
    const got = await controlClient(region, p.merchantId, 0).get(
      `/internal/v1/placements/${p.merchantId}`,
    )
    expect(got.json).toEqual({ placement: p, fencedEpoch: 4 })
  })

  it('refuses a merchant resident elsewhere (403 merchant_residency)', async () => {
    const p = placementAt(1, 'eu')
    await seedPlacements(region.db, [p])
    const before = await tableCounts(region.db)
    const res = await as(p.merchantId, 1).post('/v1/payments', body, 'k-eu')
    expect(res.status).toBe(403)
    expect(res.json.error).toMatchObject({ code: 'merchant_residency' })
    expect(await tableCounts(region.db)).toEqual(before)
  })

  it('in one batch, refuses only the fenced merchant', async () => {
    const fencedOne = placementAt(2)
    const free = placementAt(2)
    await seedPlacements(region.db, [fencedOne, free], 2)
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        as(i % 2 === 0 ? fencedOne.merchantId : free.merchantId, 2).post(
          '/v1/payments',
          body,
          `k-batch-${i}`,
        ),
      ),
    )
    // Both fenced at 2: nobody gets in at 2. Lift one merchant's fence by routing it at 3.
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(503))
    const mixed = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        as(i % 2 === 0 ? fencedOne.merchantId : free.merchantId, i % 2 === 0 ? 2 : 3).post(
          '/v1/payments',
          body,
          `k-mixed-${i}`,
        ),
      ),
    )
    expect(mixed.map((a) => a.status)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 503 : 202)),
    )
  })
})

describe('the fence barrier', () => {
  it('holds the marker until a write admitted before the fence has committed', async () => {
    const p = placementAt(2)
    await seedPlacements(region.db, [p])
    // Hold the write's transaction open: an uncommitted row under its idempotency key makes the
    // batch statement (already past admission, in its snapshot) wait for this transaction.
    // Its own pool: the region's test pool has one connection, which the checks below need.
    const side = createPool({ url: region.db.url, schema: region.db.schema, poolSizeMax: 1 })
    const blocker = await side.connect()
    try {
      await blocker.query('begin')
      await blocker.query(
        `insert into idempotency_keys (merchant_id, key, request_hash, response_status, response_body, resource_id, origin_region, hlc)
         values ($1, 'k-held', 'x', 202, '{}', 'x', 'us-east', '')`,
        [p.merchantId],
      )
      const { rows } = await blocker.query<{ pid: number }>('select pg_backend_pid() as pid')
      const blockerPid = rows[0]?.pid
      const write = as(p.merchantId, 2).post('/v1/payments', body, 'k-held')
      await eventually(async () => {
        const waiting = await region.db.pool.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))',
          [blockerPid],
        )
        expect(waiting.rows[0]?.n).toBe(1)
      })
      const fenced = fence(p)
      // The fence commits (writes at 2 are refused from here on) while the write still waits.
      await eventually(async () => {
        const { rows: held } = await region.db.pool.query(
          'select fenced_epoch from merchant_placements where merchant_id = $1',
          [p.merchantId],
        )
        expect(held[0]?.fenced_epoch).toBe(2)
      })
      await new Promise((resolve) => setTimeout(resolve, 200))
      await blocker.query('rollback')
      const [written, marked] = await Promise.all([write, fenced])
      // Admitted before the fence, so acknowledged; and the marker comes after it.
      expect(written.status).toBe(202)
      expect(marked.status).toBe(200)
      const { rows: order } = await region.db.pool.query<{ type: string }>(
        'select type from outbox where merchant_id = $1 order by seq',
        [p.merchantId],
      )
      expect(order.map((r) => r.type)).toEqual(['payment.created', 'merchant.placement_changed'])
    } finally {
      blocker.release()
      await side.end()
    }
  })
})

describe('the internal API', () => {
  it('joins placements (higher epoch wins), answers 404 for none and 400 for a bad body', async () => {
    const p = placementAt(5)
    const path = `/internal/v1/placements/${p.merchantId}`
    expect((await controlClient(region, p.merchantId, 0).get(path)).status).toBe(404)
    expect(
      (await controlClient(region, p.merchantId, 5).request('PUT', path, { body: p })).status,
    ).toBe(200)
    const older = { ...p, epoch: 4, home: 'ap-south' }
    const kept = await controlClient(region, p.merchantId, 4).request('PUT', path, { body: older })
    expect(kept.json).toEqual({ placement: p, fencedEpoch: 0 })
    expect(await markers(p.merchantId)).toBe(1)
    const bad = await controlClient(region, p.merchantId, 5).request('PUT', path, {
      body: { ...p, epoch: 'five' },
    })
    expect(bad.status).toBe(400)
    expect(bad.json.error).toMatchObject({ code: 'placement_invalid' })
    // Signed for another merchant than the path names: refused.
    const other = await controlClient(region, 'mer_someone_else', 5).request('PUT', path, {
      body: p,
    })
    expect(other.status).toBe(401)
  })

  it('says what it applied and how it is doing', async () => {
    const control = controlClient(region, 'mer_control', 0)
    const event = newId('event')
    const unseen = await control.get(
      `/internal/v1/replication/applied?origin=eu-west&event=${event}`,
    )
    expect(unseen.status).toBe(200)
    expect(unseen.json).toEqual({ applied: false })
    const own = await control.get(`/internal/v1/replication/applied?origin=us-east&event=${event}`)
    expect(own.json).toEqual({ applied: true })
    const status = await control.get('/internal/v1/status')
    expect(status.status).toBe(200)
    expect(status.json).toMatchObject({ region: 'us-east', jurisdiction: 'us', links: [] })
    expect(status.json.placements.total).toBeGreaterThan(0)
  })
})
