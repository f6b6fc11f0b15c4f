import type { SimFaults } from '@meridian/processor-sim'
import { describe, expect, it } from 'vitest'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { createPayment, expectBalancedLedger, statusIs, waitFor } from './helpers.ts'

/**
 * Each fault, one region: a batch of automatic-capture payments must end captured with exactly
 * one authorization at the simulators per payment and a balanced ledger.
 */
async function survives(
  label: string,
  faults: Partial<SimFaults>,
  payments = 12,
): Promise<ProcessingRegion> {
  const region = await startProcessingRegion(label, { faults })
  try {
    const client = region.client(`mer_${label.replaceAll('-', '_')}`)
    const ids = []
    for (let i = 0; i < payments; i++)
      ids.push((await createPayment(client, { amount: 1000 + i })).id)
    for (const id of ids) {
      await waitFor(client, id, statusIs('captured'), 45_000)
      expect(region.authorizations(id), id).toBe(1)
    }
    await expectBalancedLedger(region.db)
    return region
  } finally {
    await region.stop()
  }
}

function total(
  region: ProcessingRegion,
  stat: 'timeouts' | 'errors' | 'lostResponses' | 'replays',
): number {
  return region.sims.reduce((s, sim) => s + sim.engine.stats[stat], 0)
}

describe('processor faults end with one authorization per payment', () => {
  it('timeouts: the answer comes too late; retries with the same key replay it', async () => {
    const region = await survives('timeouts', { timeoutRate: 0.35, hangMs: 900 })
    expect(total(region, 'timeouts')).toBeGreaterThan(0)
    expect(total(region, 'replays')).toBeGreaterThan(0)
  })

  it('5xx bursts: refused before processing, so routing moves on to the next processor', async () => {
    const region = await survives('bursts', { errorBurst: 8, errorRate: 0.2 })
    expect(total(region, 'errors')).toBeGreaterThan(0)
  })

  it('lost responses: the charge happened, the answer never came', async () => {
    const region = await survives('lost', { lostResponseRate: 0.4 })
    expect(total(region, 'lostResponses')).toBeGreaterThan(0)
    expect(total(region, 'replays')).toBeGreaterThan(0)
  })

  it('429s: rate limited by the processor, retried after the hint', async () => {
    await survives('ratelimited', { rateLimitRate: 0.3 })
  })
})
