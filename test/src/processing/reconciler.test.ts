import { describe, expect, it } from 'vitest'
import { startProcessingRegion } from '../harness/processing.ts'
import { createPayment, expectBalancedLedger, statusIs, waitFor } from './helpers.ts'

async function stillPending(client: Parameters<typeof waitFor>[0], ids: string[]): Promise<void> {
  for (const id of ids) expect((await client.get(`/v1/payments/${id}`)).json.status).toBe('pending')
}

describe('the reconciler', () => {
  it('asks the processor for the truth when every answer was lost, once the processor recovers', async () => {
    const region = await startProcessingRegion('recon-lost', { faults: { lostResponseRate: 1 } })
    try {
      const client = region.client('mer_recon')
      const ids = [
        (await createPayment(client, { amount: 100 })).id,
        (await createPayment(client, { amount: 200 })).id,
      ]
      // The charges happened at the processor; we never heard back, so they stay pending.
      await new Promise((r) => setTimeout(r, 2500))
      await stillPending(client, ids)
      for (const id of ids) expect(region.authorizations(id)).toBe(1)
      region.setFaults({ lostResponseRate: 0 })
      for (const id of ids) await waitFor(client, id, statusIs('captured'), 30_000)
      for (const id of ids) expect(region.authorizations(id)).toBe(1)
      await expectBalancedLedger(region.db)
    } finally {
      await region.stop()
    }
  })

  it('sends what no processor would take while all were down, after they come back', async () => {
    const region = await startProcessingRegion('recon-down', { faults: { errorRate: 1 } })
    try {
      const client = region.client('mer_recon')
      const id = (await createPayment(client, { amount: 300 })).id
      await new Promise((r) => setTimeout(r, 2000))
      await stillPending(client, [id])
      expect(region.authorizations(id)).toBe(0)
      region.setFaults({ errorRate: 0 })
      await waitFor(client, id, statusIs('captured'), 30_000)
      expect(region.authorizations(id)).toBe(1)
    } finally {
      await region.stop()
    }
  })

  it("leaves the authorization of another region's pending payment to that region", async () => {
    // Found by the processor-outage drill: a region's reconciler authorized a replica of another
    // region's payment at a different processor than the origin chose — a double charge.
    // No workers: only the reconciler sends anything here.
    const region = await startProcessingRegion('recon-foreign', {
      faults: { errorRate: 1 },
      overrides: {
        roles: { api: true, relay: true, workers: false, webhooks: false, reconciler: true },
      },
    })
    try {
      const client = region.client('mer_recon')
      const mine = (await createPayment(client, { amount: 410 })).id
      const foreign = (await createPayment(client, { amount: 420 })).id
      // Make the second one a replica of a payment eu-west created (and is processing).
      await region.db.pool.query(
        `update payments set origin_region = 'eu-west', processor = null where id = $1`,
        [foreign],
      )
      await new Promise((r) => setTimeout(r, 1500))
      region.setFaults({ errorRate: 0 })
      await waitFor(client, mine, statusIs('captured'), 30_000)
      // Several reconciler passes later, nobody here sent the foreign one anywhere.
      await new Promise((r) => setTimeout(r, 3000))
      expect(region.authorizations(mine)).toBe(1)
      expect(region.authorizations(foreign)).toBe(0)
      await stillPending(client, [foreign])
    } finally {
      await region.stop()
    }
  })

  it('expires authorizations nobody captured in time and releases the hold', async () => {
    const region = await startProcessingRegion('recon-expire', {
      overrides: {
        reconciler: {
          stuckAfterMs: 1000,
          intervalMs: 300,
          authorizationTtlMs: 1500,
          unsentFailAfterMs: 3_600_000,
        },
      },
    })
    try {
      const client = region.client('mer_expire')
      const id = (await createPayment(client, { amount: 900, capture_method: 'manual' })).id
      await waitFor(client, id, statusIs('authorized'))
      await waitFor(client, id, statusIs('expired'), 20_000)
      const balance = (await client.get('/v1/balance')).json
      expect(balance.pending).toEqual([{ amount: 0, currency: 'usd' }])
      await expectBalancedLedger(region.db)
    } finally {
      await region.stop()
    }
  })
})
