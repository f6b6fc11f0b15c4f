import { listDuplicates } from '@meridian/regions'
import type { replicationStatus } from '@meridian/replication'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { type Fleet, fleetRegions, startFleet } from '../harness/fleet.ts'
import type { RegionName } from '../harness/kafka.ts'
import { expectBalancedLedger, key, statusIs, waitFor } from '../processing/helpers.ts'

/**
 * The contract of docs/ARCHITECTURE.md, "Exactly once", on three real regions: one
 * (merchant, Idempotency-Key) is one object in the whole fleet, the processor acts once per
 * authorization and per operation, two regions deciding on one payment during a partition
 * never move more money than the processor did, and duplicates are undone by themselves.
 * A partition here: the replication links between two regions paused both ways.
 */
let fleet: Fleet
beforeAll(async () => {
  fleet = await startFleet('once')
}, 120_000)
afterAll(async () => {
  await fleet?.stop()
})
afterEach(async () => {
  processorsDown(false)
  for (const r of fleetRegions) await fleet.replication[r].resumeLinks()
})

const merchant = 'mer_acme'
const card = { currency: 'usd', payment_method: 'pm_card_visa' }
const client = (r: RegionName) => fleet.regions[r].client(merchant)

/** Cut replication between two regions both ways, as a partition does. */
async function partition(a: RegionName, b: RegionName): Promise<void> {
  await fleet.replication[a].pauseLink(b)
  await fleet.replication[b].pauseLink(a)
}

/** What the processors did for a payment, over every simulator. */
function processorSide(paymentId: string) {
  const charges = fleet.sims.flatMap((s) =>
    [...s.engine.charges.values()].filter((c) => c.reference === paymentId),
  )
  const sum = (f: (c: (typeof charges)[number]) => number) => charges.reduce((s, c) => s + f(c), 0)
  return {
    authorizations: fleet.sims.reduce(
      (s, sim) => s + (sim.engine.stats.authorizations.get(paymentId) ?? 0),
      0,
    ),
    captures: fleet.sims.reduce((s, sim) => s + (sim.engine.stats.captures.get(paymentId) ?? 0), 0),
    captured: sum((c) => c.amountCaptured),
    refunded: sum((c) => c.amountRefunded),
    states: charges.map((c) => c.state),
  }
}

/** Every processor answers 503 (certainly not acting): operations stay pending and are retried. */
function processorsDown(down: boolean) {
  for (const sim of fleet.sims) sim.faults.errorRate = down ? 1 : 0
}

async function rowsIn(region: RegionName, sql: string, params: unknown[]) {
  return (await fleet.regions[region].db.pool.query(sql, params)).rows
}

/** After convergence: every region shows what the processors did, nothing is left pending. */
async function expectSettledEverywhere(paymentId: string) {
  // Operations still open after the heal are finished by the reconciler (seconds here).
  await eventually(async () => {
    for (const r of fleetRegions) {
      const open = await rowsIn(
        r,
        `select id from refunds where payment_id = $1 and status = 'pending'
         union all select id from payment_operations where payment_id = $1 and status = 'pending'`,
        [paymentId],
      )
      expect(open, `${r}: operations not final`).toEqual([])
    }
  }, 30_000)
  await fleet.converged(60_000)
  const truth = processorSide(paymentId)
  for (const r of fleetRegions) {
    const [p] = await rowsIn(
      r,
      'select status, amount_captured::int, amount_refunded::int, amount_refund_pending::int, pending_operation from payments where id = $1',
      [paymentId],
    )
    expect(p, `${r} ${paymentId}`).toMatchObject({
      amount_captured: truth.captured,
      amount_refunded: truth.refunded,
      amount_refund_pending: 0,
      pending_operation: null,
    })
    const open = await rowsIn(
      r,
      `select id from refunds where payment_id = $1 and status = 'pending'
       union all select id from payment_operations where payment_id = $1 and status = 'pending'`,
      [paymentId],
    )
    expect(open, `${r}: operations not final`).toEqual([])
    await expectBalancedLedger(fleet.regions[r].db)
  }
  return truth
}

async function capturedPayment(amount: number, captureMethod = 'automatic') {
  const res = await client('us-east').post(
    '/v1/payments',
    { ...card, amount, capture_method: captureMethod },
    key('once-create'),
  )
  expect(res.status).toBe(202)
  const id = res.json.id as string
  const want = captureMethod === 'automatic' ? 'captured' : 'authorized'
  await waitFor(client('us-east'), id, statusIs(want))
  // Every region holds it before the partition: each decides on what it knows.
  for (const r of fleetRegions)
    await eventually(async () => {
      expect((await rowsIn(r, 'select status from payments where id = $1', [id]))[0]).toEqual({
        status: want,
      })
    }, 30_000)
  return id
}

describe('one Idempotency-Key is one object in the whole fleet', () => {
  it('a retry served by another region before replication returns the first id; the processor authorizes and captures once', async () => {
    await partition('us-east', 'eu-west')
    const k = key('once-retry')
    const body = { ...card, amount: 3100 }
    // us-east commits; the merchant never sees the answer and retries where the edge sends it.
    const first = await client('us-east').post('/v1/payments', body, k)
    const retry = await client('eu-west').post('/v1/payments', body, k)
    expect([first.status, retry.status]).toEqual([202, 202])
    expect(retry.json.id).toBe(first.json.id)
    expect(retry.headers.get('Idempotent-Replayed')).toBeNull()
    const id = first.json.id as string
    // Both regions process their copy, under the same processor keys.
    await waitFor(client('us-east'), id, statusIs('captured'))
    await waitFor(client('eu-west'), id, statusIs('captured'))
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    const truth = await expectSettledEverywhere(id)
    expect(truth).toMatchObject({ authorizations: 1, captures: 1, captured: 3100 })
  })

  it('a capture retried in another region is the same operation: one capture at the processor', async () => {
    const id = await capturedPayment(2600, 'manual')
    await partition('us-east', 'eu-west')
    const k = key('once-capture')
    const a = await client('us-east').post(`/v1/payments/${id}/capture`, {}, k)
    const b = await client('eu-west').post(`/v1/payments/${id}/capture`, {}, k)
    expect([a.status, b.status]).toEqual([202, 202])
    await waitFor(client('us-east'), id, statusIs('captured'))
    await waitFor(client('eu-west'), id, statusIs('captured'))
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    const truth = await expectSettledEverywhere(id)
    expect(truth).toMatchObject({ authorizations: 1, captures: 1, captured: 2600 })
    const ops = await rowsIn(
      'ap-south',
      'select status from payment_operations where payment_id = $1',
      [id],
    )
    expect(ops).toEqual([{ status: 'succeeded' }])
  })
})

describe('two regions deciding on one payment during a partition', () => {
  it('two full refunds: the processor takes one; the other, still pending when the regions heal, fails with refund.failed', async () => {
    const id = await capturedPayment(5000)
    await partition('us-east', 'eu-west')
    const east = await client('us-east').post(`/v1/payments/${id}/refunds`, {}, key('once-r1'))
    expect(east.status).toBe(202)
    await waitFor(client('us-east'), id, (p) => p.status === 'refunded')
    // eu-west accepts its own full refund but cannot reach the processor before the heal.
    processorsDown(true)
    const west = await client('eu-west').post(`/v1/payments/${id}/refunds`, {}, key('once-r2'))
    expect(west.status).toBe(202)
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    await waitFor(client('eu-west'), id, (p) => p.status === 'refunded')
    processorsDown(false)
    const truth = await expectSettledEverywhere(id)
    expect(truth.refunded).toBe(5000)
    const refunds = await rowsIn(
      'ap-south',
      'select id, status, failure_message from refunds where payment_id = $1 order by status',
      [id],
    )
    expect(refunds).toMatchObject([
      {
        id: west.json.id,
        status: 'failed',
        // Failed by its region once the merged refunds left no room ("Cannot refund …"), or by
        // the processor's refusal if a retry of the refused send reached it first (each
        // processor words it its own way): either way, final with a reason.
        failure_message: expect.stringMatching(/\S/),
      },
      { id: east.json.id, status: 'succeeded' },
    ])
    // The merchant hears of it: a refund.failed event for a webhook, one event id whichever
    // region(s) wrote it.
    const failed = await Promise.all(
      fleetRegions.map((r) =>
        rowsIn(
          r,
          "select event_id from outbox where type = 'refund.failed' and envelope->'payload'->'refund'->>'id' = $1",
          [west.json.id],
        ),
      ),
    )
    expect(failed.flat().length).toBeGreaterThanOrEqual(1)
    expect(new Set(failed.flat().map((e) => e.event_id)).size).toBe(1)
  })

  it('two partial refunds that fit both succeed, and every region shows both', async () => {
    const id = await capturedPayment(1000)
    await partition('us-east', 'eu-west')
    const east = await client('us-east').post(
      `/v1/payments/${id}/refunds`,
      { amount: 300 },
      key('once-p1'),
    )
    const west = await client('eu-west').post(
      `/v1/payments/${id}/refunds`,
      { amount: 500 },
      key('once-p2'),
    )
    expect([east.status, west.status]).toEqual([202, 202])
    await waitFor(client('us-east'), id, (p) => p.amount_refunded === 300)
    await waitFor(client('eu-west'), id, (p) => p.amount_refunded === 500)
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    const truth = await expectSettledEverywhere(id)
    expect(truth.refunded).toBe(800)
    for (const r of fleetRegions)
      expect((await client(r).get(`/v1/payments/${id}`)).json).toMatchObject({
        status: 'partially_refunded',
        amount_refunded: 800,
      })
  })

  it('capture in one region, cancel in the other: the cancel still open at heal fails with payment.operation_failed', async () => {
    const id = await capturedPayment(1500, 'manual')
    await partition('us-east', 'eu-west')
    const capture = await client('us-east').post(`/v1/payments/${id}/capture`, {}, key('once-cap'))
    expect(capture.status).toBe(202)
    await waitFor(client('us-east'), id, statusIs('captured'))
    processorsDown(true)
    const cancel = await client('eu-west').post(`/v1/payments/${id}/cancel`, {}, key('once-can'))
    expect(cancel.status).toBe(202)
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    await waitFor(client('eu-west'), id, (p) => p.status === 'captured')
    processorsDown(false)
    const truth = await expectSettledEverywhere(id)
    expect(truth).toMatchObject({ captured: 1500, states: ['captured'] })
    const ops = await rowsIn(
      'ap-south',
      'select kind, status, failure_code from payment_operations where payment_id = $1 order by kind',
      [id],
    )
    expect(ops).toEqual([
      { kind: 'cancel', status: 'failed', failure_code: 'payment_captured' },
      { kind: 'capture', status: 'succeeded', failure_code: null },
    ])
    // Whichever region failed it (each may), the merchant gets one event id: dedupable.
    const failed = await Promise.all(
      fleetRegions.map((r) =>
        rowsIn(
          r,
          "select event_id from outbox where type = 'payment.operation_failed' and envelope->'payload'->'payment'->>'id' = $1",
          [id],
        ),
      ),
    )
    expect(failed.flat().length).toBeGreaterThanOrEqual(1)
    expect(new Set(failed.flat().map((e) => e.event_id)).size).toBe(1)
  })

  it('capture and cancel sent at once from two regions: the processor takes one, the other fails', async () => {
    const id = await capturedPayment(1700, 'manual')
    await partition('us-east', 'eu-west')
    const capture = await client('us-east').post(`/v1/payments/${id}/capture`, {}, key('once-cap2'))
    const cancel = await client('eu-west').post(`/v1/payments/${id}/cancel`, {}, key('once-can2'))
    expect([capture.status, cancel.status]).toEqual([202, 202])
    await waitFor(client('us-east'), id, (p) => p.processing === null)
    await waitFor(client('eu-west'), id, (p) => p.processing === null)
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    const truth = await expectSettledEverywhere(id)
    const ops = await rowsIn(
      'ap-south',
      'select status from payment_operations where payment_id = $1 order by status',
      [id],
    )
    expect(ops).toEqual([{ status: 'failed' }, { status: 'succeeded' }])
    const [p] = await rowsIn('ap-south', 'select status from payments where id = $1', [id])
    expect(p?.status).toBe(truth.captured > 0 ? 'captured' : 'canceled')
  })

  it('two captures of different amounts: the processor captures once, every region shows that amount', async () => {
    const id = await capturedPayment(2000, 'manual')
    await partition('us-east', 'eu-west')
    const a = await client('us-east').post(
      `/v1/payments/${id}/capture`,
      { amount: 2000 },
      key('once-c1'),
    )
    const b = await client('eu-west').post(
      `/v1/payments/${id}/capture`,
      { amount: 1200 },
      key('once-c2'),
    )
    expect([a.status, b.status]).toEqual([202, 202])
    await waitFor(client('us-east'), id, (p) => p.processing === null)
    await waitFor(client('eu-west'), id, (p) => p.processing === null)
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    const truth = await expectSettledEverywhere(id)
    expect(truth.captures).toBe(1)
    expect([2000, 1200]).toContain(truth.captured)
  })
})

describe('two payments under one key are found and undone by the system', () => {
  it('a changed request accepted by two regions during a partition: the later payment is refunded, shown and counted', async () => {
    await partition('us-east', 'eu-west')
    const k = key('once-dup')
    const a = await client('us-east').post('/v1/payments', { ...card, amount: 4100 }, k)
    const b = await client('eu-west').post('/v1/payments', { ...card, amount: 4200 }, k)
    expect([a.status, b.status]).toEqual([202, 202])
    expect(a.json.id).not.toBe(b.json.id)
    await waitFor(client('us-east'), a.json.id, statusIs('captured'))
    await waitFor(client('eu-west'), b.json.id, statusIs('captured'))
    await fleet.replication['us-east'].resumeLinks()
    await fleet.replication['eu-west'].resumeLinks()
    // The earliest record is kept; the other payment is refunded in full by its origin region.
    const kept = a.json.id as string
    const duplicate = b.json.id as string
    await eventually(async () => {
      const [p] = await rowsIn('ap-south', 'select status from payments where id = $1', [duplicate])
      expect(p?.status).toBe('refunded')
    }, 60_000)
    const truth = await expectSettledEverywhere(duplicate)
    expect(truth).toMatchObject({ captured: 4200, refunded: 4200 })
    expect(processorSide(kept)).toMatchObject({ captured: 4100, refunded: 0 })
    const [refund] = await rowsIn(
      'ap-south',
      'select reason, status from refunds where payment_id = $1',
      [duplicate],
    )
    expect(refund).toEqual({ reason: 'duplicate', status: 'succeeded' })
    // Found and shown by the system itself, in the region that undid it.
    await eventually(async () => {
      const listed = await listDuplicates(fleet.regions['eu-west'].db.pool)
      expect(listed).toEqual([
        expect.objectContaining({
          paymentId: duplicate,
          keptPaymentId: kept,
          action: 'refund',
          settledAt: expect.any(Date),
        }),
      ])
    }, 30_000)
    const status = (await (
      await fetch(`${fleet.replication['eu-west'].url}/replication/status`)
    ).json()) as Awaited<ReturnType<typeof replicationStatus>>
    expect(status.duplicates).toMatchObject({ open: 0, compensated: 1 })
    const metrics = await (await fetch(`${fleet.replication['eu-west'].url}/metrics`)).text()
    expect(metrics).toMatch(/meridian_duplicate_payments\{state="compensated",region="eu-west"\} 1/)
  })
})
