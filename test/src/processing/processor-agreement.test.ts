import { paymentIdFor, requestFingerprint, samplePlacement } from '@meridian/core'
import { dialects, type RunningSimulator, simNames, startSimulator } from '@meridian/processor-sim'
import { ProcessorSet } from '@meridian/regions'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { seedPlacements } from '../harness/placements.ts'
import {
  type ProcessingRegion,
  startProcessingRegion,
  testSimFaults,
} from '../harness/processing.ts'
import { testPins } from '../harness/region.ts'
import { key, statusIs, waitFor } from './helpers.ts'

/**
 * One payment held by two regions (a retry served by eu-west before us-east's original reached
 * it; no replication here, so each keeps its own copy) while the processor it routes to first is
 * down. The home region moves on to another processor; the other region must send to the same
 * one, or the customer is authorized twice, at two processors that know nothing of each other's
 * keys. They agree through the fleet's processor register (Upstash). mer_acme's processing home is
 * us-east: its placement (seeded in both regions) says so.
 */
let sims: RunningSimulator[]
let east: ProcessingRegion
let west: ProcessingRegion

async function startPair(label: string, pins: 'shared' | 'separate') {
  east = await startProcessingRegion(label, {
    sims,
    region: 'us-east',
    overrides: { processorPins: testPins(pins === 'shared' ? label : `${label}-east`) },
  })
  west = await startProcessingRegion(label, {
    sims,
    region: 'eu-west',
    overrides: { processorPins: testPins(pins === 'shared' ? label : `${label}-west`) },
  })
  // Both regions hold mer_acme's placement, as the control plane leaves it: us-east processes.
  await seedPlacements(east.db, [samplePlacement('mer_acme')])
  await seedPlacements(west.db, [samplePlacement('mer_acme')])
}

beforeAll(async () => {
  sims = await Promise.all(
    simNames.map((name) => startSimulator(name, dialects[name], { faults: testSimFaults })),
  )
}, 30_000)
afterEach(async () => {
  await east?.stop()
  await west?.stop()
  for (const s of sims) s.faults.errorRate = 0
})
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()))
})

const body = { amount: 2300, currency: 'usd', payment_method: 'pm_card_visa' }

/** The payment a request will make, and the processor its route starts with. */
async function planned(k: string) {
  const id = await paymentIdFor(
    'mer_acme',
    k,
    await requestFingerprint('POST', '/v1/payments', body),
  )
  const route = new ProcessorSet(Object.fromEntries(sims.map((s) => [s.name, s.url]))).routeFor(id)
  const first = route[0]?.adapter.name ?? ''
  return { id, first, sim: (name: string) => sims.find((s) => s.name === name) }
}

function authorizationsAt(id: string) {
  return Object.fromEntries(
    sims
      .map((s) => [s.name, s.engine.stats.authorizations.get(id) ?? 0] as const)
      .filter(([, n]) => n > 0),
  )
}

async function pinOf(region: ProcessingRegion, id: string): Promise<string | null> {
  const { rows } = await region.db.pool.query('select processor from payments where id = $1', [id])
  return rows[0]?.processor ?? null
}

describe('regions agree on one processor per payment', () => {
  it('the home moved on while the first processor was down; the other region follows it there', async () => {
    await startPair('agree-move', 'shared')
    const k = key('agree-move')
    const { id, first, sim } = await planned(k)
    const down = sim(first)
    if (!down) throw new Error('no first processor')
    down.faults.errorRate = 1
    expect((await east.client().post('/v1/payments', body, k)).json.id).toBe(id)
    await waitFor(east.client(), id, statusIs('captured'))
    const moved = await pinOf(east, id)
    expect(moved).not.toBe(first)
    down.faults.errorRate = 0
    // Now the first processor is healthy again: eu-west would route there by itself.
    expect((await west.client().post('/v1/payments', body, k)).json.id).toBe(id)
    await waitFor(west.client(), id, statusIs('captured'))
    expect(await pinOf(west, id)).toBe(moved)
    expect(authorizationsAt(id)).toEqual({ [moved as string]: 1 })
  })

  it('the other region pinned the first processor; the home, refused there, waits for it instead of moving', async () => {
    await startPair('agree-stay', 'shared')
    const k = key('agree-stay')
    const { id, first, sim } = await planned(k)
    expect((await west.client().post('/v1/payments', body, k)).json.id).toBe(id)
    await waitFor(west.client(), id, statusIs('captured'))
    const down = sim(first)
    if (!down) throw new Error('no first processor')
    down.faults.errorRate = 1
    expect((await east.client().post('/v1/payments', body, k)).json.id).toBe(id)
    // Refused at the first processor, us-east asks the register, which says: that one.
    await eventually(async () => expect(await pinOf(east, id)).toBe(first), 10_000)
    down.faults.errorRate = 0
    await waitFor(east.client(), id, statusIs('captured'))
    expect(authorizationsAt(id)).toEqual({ [first]: 1 })
  })

  it('without one register (each region its own) the same run authorizes twice: what the register prevents', async () => {
    await startPair('agree-none', 'separate')
    const k = key('agree-none')
    const { id, first, sim } = await planned(k)
    const down = sim(first)
    if (!down) throw new Error('no first processor')
    down.faults.errorRate = 1
    await east.client().post('/v1/payments', body, k)
    await waitFor(east.client(), id, statusIs('captured'))
    down.faults.errorRate = 0
    await west.client().post('/v1/payments', body, k)
    await waitFor(west.client(), id, statusIs('captured'))
    const total = Object.values(authorizationsAt(id)).reduce((s, n) => s + n, 0)
    expect(total).toBe(2)
  })
})
