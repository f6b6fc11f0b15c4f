import { quietLogger } from '@meridian/platform'
import { type RunningRegion, startRegion } from '@meridian/regions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { createPayment, key, statusIs, waitFor } from './helpers.ts'

/**
 * The outbox relay in a service of its own, as `pnpm start` and the cloud run it, is woken
 * through Postgres by whoever commits outbox rows: the API's group commit, its captures and
 * refunds, and the workers' changes. Its own poll is ten minutes here, so only those wake-ups
 * can publish in time.
 */
let writers: ProcessingRegion
let relay: RunningRegion
beforeAll(async () => {
  writers = await startProcessingRegion('wake', {
    overrides: {
      roles: { api: true, relay: false, workers: true, webhooks: false, reconciler: false },
    },
  })
  relay = await startRegion(
    {
      ...writers.config,
      roles: { api: false, relay: true, workers: false, webhooks: false, reconciler: false },
      relayIdlePollMs: 600_000,
    },
    quietLogger,
  )
  // Let it take the lead and make its first look, so what follows is found only by a wake-up.
  await new Promise((r) => setTimeout(r, 500))
}, 60_000)
afterAll(async () => {
  await relay?.stop()
  await writers?.stop()
})

const unsent = async () =>
  Number(
    (await writers.db.pool.query('select count(*) as n from outbox where sent_at is null')).rows[0]
      .n,
  )

describe('the outbox relay in a service of its own', () => {
  it('publishes what the API and the workers commit without waiting for its poll', async () => {
    const client = writers.client()
    const created = await createPayment(client, { amount: 2500 })
    // The workers see payment.created only once the relay published it.
    await waitFor(client, created.id, statusIs('captured'))
    // The workers' own events (authorized, captured) went out too.
    await eventually(async () => expect(await unsent()).toBe(0))
    const { rows } = await writers.db.pool.query<{ type: string }>(
      'select type from outbox order by seq',
    )
    expect(rows.map((r) => r.type)).toEqual([
      'payment.created',
      'payment.authorized',
      'payment.captured',
    ])
  })

  it('publishes the events of a capture and a refund the API accepted', async () => {
    const client = writers.client()
    const created = await createPayment(client, { amount: 1800, capture_method: 'manual' })
    await waitFor(client, created.id, statusIs('authorized'))
    const capture = await client.post(`/v1/payments/${created.id}/capture`, {}, key('capture'))
    expect(capture.status).toBe(202)
    // The workers capture once the relay published payment.capture_requested.
    await waitFor(client, created.id, statusIs('captured'))
    const refund = await client.post(`/v1/payments/${created.id}/refunds`, {}, key('refund'))
    expect(refund.status).toBe(202)
    await waitFor(client, created.id, statusIs('refunded'))
    await eventually(async () => expect(await unsent()).toBe(0))
  })
})
