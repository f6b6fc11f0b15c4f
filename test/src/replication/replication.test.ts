import {
  decodeEvent,
  movedPlacement,
  newPlacement,
  type Placement,
  fleet as registry,
} from '@meridian/core'
import type { InMessage } from '@meridian/platform'
import type { replicationStatus } from '@meridian/replication'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkerSuite } from '../drill/checker-suite.ts'
import { eventually } from '../harness/eventually.ts'
import { type Fleet, fleetRegions, startFleet } from '../harness/fleet.ts'
import { readTopic } from '../harness/kafka.ts'
import { controlClient } from '../harness/placements.ts'
import { createPayment, key, statusIs, waitFor } from '../processing/helpers.ts'

let fleet: Fleet
beforeAll(async () => {
  fleet = await startFleet('repl')
}, 120_000)
afterAll(async () => {
  await fleet?.stop()
})

/** Everything now in `topic` on `region`'s broker. */
async function readAll(region: (typeof fleetRegions)[number], topic: string): Promise<InMessage[]> {
  const ends = await fleet.regions[region].admin.endOffsets(topic)
  const count = [...ends.values()].reduce((s, v) => s + Number(v), 0)
  return readTopic(region, topic, count)
}

function eventId(m: InMessage): string {
  const decoded = decodeEvent(m.value ?? '')
  if (!decoded.ok) throw new Error(`undecodable event at ${m.topic}/${m.partition}@${m.offset}`)
  return decoded.event.id
}

async function paymentIn(region: (typeof fleetRegions)[number], id: string) {
  const { rows } = await fleet.regions[region].db.pool.query(
    'select status, amount_captured from payments where id = $1',
    [id],
  )
  return rows[0]
}

describe('replication across three regions over real Kafka', () => {
  it('a payment created in us-east appears, processed and booked, in eu-west and ap-south', async () => {
    const client = fleet.regions['us-east'].client('mer_acme')
    const created = await createPayment(client, { amount: 4200 })
    await waitFor(client, created.id, statusIs('captured'))
    for (const region of ['eu-west', 'ap-south'] as const) {
      await eventually(
        async () =>
          expect(await paymentIn(region, created.id)).toEqual({
            status: 'captured',
            amount_captured: '4200',
          }),
        30_000,
      )
      const { rows } = await fleet.regions[region].db.pool.query(
        'select count(*)::int as n from journal_entries where payment_id = $1',
        [created.id],
      )
      expect(rows[0].n).toBe(2)
    }
    await fleet.converged()
    // Exactly one authorization, though three regions hold the payment.
    const authorizations = fleet.sims.reduce(
      (s, sim) => s + (sim.engine.stats.authorizations.get(created.id) ?? 0),
      0,
    )
    expect(authorizations).toBe(1)
  })

  it('after failover, a retry in another region replays the original response', async () => {
    const k = key('failover-retry')
    const body = { amount: 1500, currency: 'usd', payment_method: 'pm_card_visa' }
    const first = await fleet.regions['us-east'].client('mer_acme').post('/v1/payments', body, k)
    expect(first.status).toBe(202)
    await eventually(async () => {
      const { rows } = await fleet.regions['eu-west'].db.pool.query(
        'select 1 from idempotency_keys where key = $1',
        [k],
      )
      expect(rows).toHaveLength(1)
    }, 30_000)
    const retry = await fleet.regions['eu-west'].client('mer_acme').post('/v1/payments', body, k)
    expect(retry.status).toBe(202)
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true')
    expect(retry.text).toBe(first.text)
    const changed = await fleet.regions['ap-south']
      .client('mer_acme')
      .post('/v1/payments', { ...body, amount: 1 }, k)
    expect(changed.status).toBe(422)
  })

  it('catches up after a replicator outage, applying every event exactly once', async () => {
    await fleet.replication['eu-west'].pauseLinks()
    const client = fleet.regions['us-east'].client('mer_acme')
    const ids: string[] = []
    for (let i = 0; i < 15; i++) ids.push((await createPayment(client, { amount: 100 + i })).id)
    for (const id of ids) await waitFor(client, id, statusIs('captured'))
    expect(await paymentIn('eu-west', ids[0] ?? '')).toBeUndefined()
    await fleet.replication['eu-west'].resumeLinks()
    await fleet.converged()
    for (const id of ids) expect((await paymentIn('eu-west', id))?.status).toBe('captured')
    // Each us-east event was applied once in eu-west: no more, no fewer.
    const sent = await fleet.regions['us-east'].db.pool.query<{ n: number }>(
      "select count(*)::int as n from outbox where envelope->>'origin_region' = 'us-east'",
    )
    const applied = await fleet.regions['eu-west'].db.pool.query<{ n: number }>(
      "select count(*)::int as n from replication_applied where origin_region = 'us-east'",
    )
    expect(applied.rows[0]?.n).toBe(sent.rows[0]?.n)
  })

  it('concurrent updates to one merchant in two regions converge to one state', async () => {
    const merchant = 'mer_concurrent'
    const [east, west] = [
      fleet.regions['us-east'].client(merchant),
      fleet.regions['eu-west'].client(merchant),
    ]
    const results = await Promise.all([
      east.post('/v1/webhook_endpoints', { url: 'https://east.example/hooks' }, key('we-east')),
      west.post('/v1/webhook_endpoints', { url: 'https://west.example/hooks' }, key('we-west')),
      createPayment(east, { amount: 300 }),
      createPayment(west, { amount: 400 }),
    ])
    expect(results[0].status).toBe(201)
    expect(results[1].status).toBe(201)
    const digest = await fleet.converged(40_000)
    expect(digest).toMatch(/^[0-9a-f]{64}$/)
    for (const region of fleetRegions) {
      const { rows } = await fleet.regions[region].db.pool.query(
        'select url from webhook_endpoints where merchant_id = $1 order by url',
        [merchant],
      )
      expect(rows.map((r) => r.url)).toEqual([
        'https://east.example/hooks',
        'https://west.example/hooks',
      ])
    }
  })

  it('never ships an event back to its origin or around again', async () => {
    // Shipping is at least once (a batch whose commit was lost is shipped again; the applier
    // dedupes), so copies may outnumber originals. What must never happen: a copy of anything
    // but the origin's own events, a second hop, or a topic named after the destination itself.
    const pairs = fleetRegions.flatMap((destination) =>
      fleetRegions.filter((o) => o !== destination).map((origin) => ({ origin, destination })),
    )
    const copies = await Promise.all(
      pairs.map(async ({ origin, destination }) => {
        const topic = `${origin}.${fleet.namespace}events`
        return { origin, destination, messages: await readAll(destination, topic) }
      }),
    )
    // Read after the copies, so every copied event is already among the originals.
    const originals = new Map(
      await Promise.all(
        fleetRegions.map(
          async (r) =>
            [r, new Set((await readAll(r, `${fleet.namespace}events`)).map(eventId))] as const,
        ),
      ),
    )
    expect(copies.reduce((n, c) => n + c.messages.length, 0)).toBeGreaterThan(0)
    for (const { origin, destination, messages } of copies) {
      const label = `${origin} → ${destination}`
      for (const m of messages) {
        expect(m.headers['origin-region'], label).toBe(origin)
        expect(m.headers.hop, label).toBe('1')
        expect(originals.get(origin)?.has(eventId(m)), label).toBe(true)
      }
    }
    for (const destination of fleetRegions) {
      const topics = await fleet.regions[destination].admin.listTopics()
      expect(topics.filter((t) => t.startsWith(`${destination}.`))).toEqual([])
    }
  })

  it('reports per-link lag, latency and heartbeats', async () => {
    const status = (await (
      await fetch(`${fleet.replication['ap-south'].url}/replication/status`)
    ).json()) as Awaited<ReturnType<typeof replicationStatus>>
    expect(status.region).toBe('ap-south')
    expect(status.links.map((l) => l.origin).sort()).toEqual(['eu-west', 'us-east'])
    for (const link of status.links) {
      expect(link.heartbeatAgeMs).not.toBeNull()
      expect(link.heartbeatAgeMs ?? Number.POSITIVE_INFINITY).toBeLessThan(10_000)
      expect(link.lagRecords).toBeGreaterThanOrEqual(0)
    }
    const metrics = await (await fetch(`${fleet.replication['ap-south'].url}/metrics`)).text()
    expect(metrics).toContain('meridian_replication_latency_seconds_bucket')
    // Every link shows how far behind it is, with or without traffic (the alert reads it).
    for (const origin of ['eu-west', 'us-east'])
      expect(metrics).toMatch(
        new RegExp(
          `^meridian_replication_link_lag_seconds\\{origin="${origin}",region="ap-south"\\} \\d`,
          'm',
        ),
      )
  })

  it('one payment created in two regions (a failover race) is counted once, everywhere alike', async () => {
    // Found by the region-down drill: a create retried in eu-west before us-east's original had
    // replicated there (ids derive from the request, so it is the same payment) made the usage
    // counters diverge.
    const merchant = 'mer_twice'
    const usage = async (region: (typeof fleetRegions)[number]) => {
      const { rows } = await fleet.regions[region].db.pool.query<{ region: string; count: number }>(
        'select region, count::int from usage_counters where merchant_id = $1 order by region',
        [merchant],
      )
      return rows
    }
    const k = key('twice')
    const body = { amount: 2500, currency: 'usd', payment_method: 'pm_card_visa' }
    let id = ''
    await fleet.replication['eu-west'].pauseLink('us-east')
    try {
      const east = await fleet.regions['us-east'].client(merchant).post('/v1/payments', body, k)
      expect(east.status).toBe(202)
      id = east.json.id
      const west = await fleet.regions['eu-west'].client(merchant).post('/v1/payments', body, k)
      expect(west.status).toBe(202)
      expect([east.json.id, west.json.id]).toEqual([id, id])
    } finally {
      await fleet.replication['eu-west'].resumeLink('us-east')
    }
    await fleet.converged(40_000)
    for (const region of fleetRegions) {
      expect(await usage(region)).toEqual([{ region: 'eu-west', count: 1 }])
      const { rows } = await fleet.regions[region].db.pool.query(
        'select origin_region from payments where id = $1',
        [id],
      )
      expect(rows).toEqual([{ origin_region: 'eu-west' }])
    }
  })

  it('pauses and resumes one link over HTTP for drills, and refuses what it does not know', async () => {
    const base = fleet.replication['eu-west'].url
    const post = (path: string) => fetch(`${base}${path}`, { method: 'POST' })
    const paused = await post('/replication/links/us-east/pause')
    expect(paused.status).toBe(200)
    expect(await paused.json()).toEqual({ region: 'eu-west', origin: 'us-east', link: 'paused' })
    expect(fleet.replication['eu-west'].replicators).toHaveLength(1)
    const unknownPeer = await post('/replication/links/mars/pause')
    expect(unknownPeer.status).toBe(404)
    expect(await unknownPeer.json()).toEqual({ error: 'mars is not a peer' })
    const unknownAction = await post('/replication/links/us-east/explode')
    expect(unknownAction.status).toBe(404)
    expect(await unknownAction.json()).toEqual({ error: 'action is pause or resume' })
    const resumed = await post('/replication/links/us-east/resume')
    expect(await resumed.json()).toMatchObject({ link: 'running' })
    expect(fleet.replication['eu-west'].replicators).toHaveLength(2)
  })
})

// The drills' checker, on this file's three regions.
checkerSuite(() => fleet)

describe('placements across the fleet', () => {
  const placementOf = async (region: (typeof fleetRegions)[number], merchantId: string) => {
    const { rows } = await fleet.regions[region].db.pool.query(
      'select home, epoch, fenced_epoch from merchant_placements where merchant_id = $1',
      [merchantId],
    )
    return rows[0]
  }
  const put = (region: (typeof fleetRegions)[number], p: Placement) =>
    controlClient(fleet.regions[region], p.merchantId, p.epoch).request(
      'PUT',
      `/internal/v1/placements/${p.merchantId}`,
      { body: p },
    )

  it('merchant.placement_changed replicates and merges: the higher epoch wins everywhere', async () => {
    const first = newPlacement(registry, {
      merchantId: 'mer_moved',
      home: 'us-east',
      residency: 'global',
    })
    const moved = movedPlacement(registry, first, 'eu-west')
    // The newer placement lands in one region, the older in another: every region ends at the newer.
    expect((await put('ap-south', moved)).status).toBe(200)
    expect((await put('us-east', first)).status).toBe(200)
    const fenced = await controlClient(fleet.regions['us-east'], first.merchantId, 1).request(
      'POST',
      `/internal/v1/placements/${first.merchantId}/fence`,
      { body: { placement: first } },
    )
    expect(fenced.status).toBe(200)
    for (const region of fleetRegions)
      await eventually(
        async () =>
          expect(await placementOf(region, 'mer_moved')).toEqual({
            home: 'eu-west',
            epoch: 2,
            fenced_epoch: 1,
          }),
        30_000,
      )
    // The drain step's question: has eu-west applied us-east's marker?
    const applied = await controlClient(fleet.regions['eu-west'], 'mer_control', 0).get(
      `/internal/v1/replication/applied?origin=us-east&event=${fenced.json.markerEventId}`,
    )
    expect(applied.json).toEqual({ applied: true })
  })

  it("keeps an eu-resident merchant's events in the eu, but ships its placement everywhere", async () => {
    const p = newPlacement(registry, {
      merchantId: 'mer_eu_only',
      home: 'eu-west',
      residency: 'eu',
    })
    expect((await put('eu-west', p)).status).toBe(200)
    // Refused where its data may not live, once that region holds the placement (until then a
    // region admits a merchant it knows nothing of: the edge routes only inside the residency).
    await eventually(
      async () => expect((await placementOf('us-east', p.merchantId))?.epoch).toBe(1),
      30_000,
    )
    const refused = await fleet.regions['us-east']
      .client(p.merchantId)
      .post(
        '/v1/payments',
        { amount: 900, currency: 'eur', payment_method: 'pm_card_visa' },
        key('eu-at-us'),
      )
    expect(refused.status).toBe(403)
    expect(refused.json.error).toMatchObject({ code: 'merchant_residency' })
    const client = fleet.regions['eu-west'].client(p.merchantId)
    const created = await createPayment(client, { amount: 900 })
    await waitFor(client, created.id, statusIs('captured'))
    // A later placement event on the merchant's partition: once it is applied elsewhere, every
    // record before it on that partition was shipped (and applied) or withheld.
    expect((await put('eu-west', { ...p, epoch: 2 })).status).toBe(200)
    for (const region of ['us-east', 'ap-south'] as const) {
      await eventually(
        async () => expect((await placementOf(region, p.merchantId))?.epoch).toBe(2),
        30_000,
      )
      const { rows } = await fleet.regions[region].db.pool.query(
        `select (select count(*)::int from payments where merchant_id = $1) as payments,
                (select count(*)::int from idempotency_keys where merchant_id = $1) as keys,
                (select count(*)::int from journal_entries where merchant_id = $1) as entries`,
        [p.merchantId],
      )
      expect(rows[0]).toEqual({ payments: 0, keys: 0, entries: 0 })
    }
    const { rows } = await fleet.regions['eu-west'].db.pool.query(
      'select count(*)::int as n from payments where merchant_id = $1',
      [p.merchantId],
    )
    expect(rows[0].n).toBe(1)
  })
})
