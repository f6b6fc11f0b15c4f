import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fleet, fleetRegions, startFleet } from '../harness/fleet.ts'
import { createPayment, statusIs, waitFor } from '../processing/helpers.ts'

// The cloud runs replicators and appliers as separate ECS services (REPLICATION_ROLES); the
// halves must still converge every region with nothing applied twice.
let fleet: Fleet
beforeAll(async () => {
  fleet = await startFleet('split', { splitReplication: true })
}, 120_000)
afterAll(async () => {
  await fleet?.stop()
})

describe('replication with replicators and appliers in separate services', () => {
  it('converges all three regions, one authorization per payment', async () => {
    const merchants = {
      'us-east': 'mer_acme',
      'eu-west': 'mer_globex',
      'ap-south': 'mer_initech',
    } as const
    const ids: string[] = []
    for (const region of fleetRegions) {
      const client = fleet.regions[region].client(merchants[region])
      const created = await createPayment(client, { amount: 700 })
      await waitFor(client, created.id, statusIs('captured'))
      ids.push(created.id)
    }
    await fleet.converged()
    for (const region of fleetRegions) {
      const { rows } = await fleet.regions[region].db.pool.query(
        'select count(*)::int as n from payments where id = any($1)',
        [ids],
      )
      expect(rows[0].n, region).toBe(3)
    }
    for (const id of ids) {
      const authorizations = fleet.sims.reduce(
        (s, sim) => s + (sim.engine.stats.authorizations.get(id) ?? 0),
        0,
      )
      expect(authorizations, id).toBe(1)
    }
  })
})
