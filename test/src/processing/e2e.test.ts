import { feeFor } from '@meridian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { WebhookReceiver } from '../harness/receiver.ts'
import { createPayment, expectBalancedLedger, key, statusIs, waitFor } from './helpers.ts'

let region: ProcessingRegion
const receiver = new WebhookReceiver()
const merchant = 'mer_e2e'

beforeAll(async () => {
  region = await startProcessingRegion('e2e')
  await receiver.start()
  const endpoint = await region
    .client(merchant)
    .post('/v1/webhook_endpoints', { url: receiver.url }, key('we'))
  expect(endpoint.status).toBe(201)
  expect(endpoint.json.secret).toMatch(/^whsec_/)
  receiver.secret = endpoint.json.secret
})
afterAll(async () => {
  await region?.stop()
  await receiver.stop()
})

describe('payment → Kafka → worker → simulator → ledger → webhook', () => {
  it('automatic capture ends captured, booked, and announced by a signed webhook', async () => {
    const client = region.client(merchant)
    const created = await createPayment(client, { amount: 2000 })
    const done = await waitFor(client, created.id, statusIs('captured'))
    expect(done).toMatchObject({ amount_received: 2000, amount_capturable: 0 })
    await eventually(() => expect(receiver.of('payment.captured', created.id)).toHaveLength(1))
    const [hook] = receiver.of('payment.captured', created.id)
    expect(hook?.verdict.ok).toBe(true)
    expect(hook?.body.data.object).toMatchObject({ id: created.id, status: 'captured' })
    expect(region.authorizations(created.id)).toBe(1)
    await expectBalancedLedger(region.db)
  })

  it('manual capture: authorize, partially capture, the rest of the hold is released', async () => {
    const client = region.client('mer_manual')
    const created = await createPayment(client, { amount: 1000, capture_method: 'manual' })
    await waitFor(client, created.id, statusIs('authorized'))
    const balanceHeld = (await client.get('/v1/balance')).json
    expect(balanceHeld.pending).toEqual([{ amount: 1000, currency: 'usd' }])
    const over = await client.post(
      `/v1/payments/${created.id}/capture`,
      { amount: 1001 },
      key('over'),
    )
    expect(over.status).toBe(400)
    expect(over.json.error.code).toBe('amount_exceeds_capturable')
    const capture = await client.post(
      `/v1/payments/${created.id}/capture`,
      { amount: 600 },
      key('cap'),
    )
    expect(capture.status).toBe(202)
    expect(capture.json.processing).toEqual({ operation: 'capture', amount: 600 })
    const done = await waitFor(client, created.id, statusIs('captured'))
    expect(done.amount_received).toBe(600)
    const balance = (await client.get('/v1/balance')).json
    expect(balance).toEqual({
      object: 'balance',
      pending: [{ amount: 0, currency: 'usd' }],
      available: [{ amount: 600 - feeFor(600), currency: 'usd' }],
    })
    await expectBalancedLedger(region.db)
  })

  it('cancel voids the authorization; capture after cancel is a 409', async () => {
    const client = region.client(merchant)
    const created = await createPayment(client, { amount: 700, capture_method: 'manual' })
    await waitFor(client, created.id, statusIs('authorized'))
    expect((await client.post(`/v1/payments/${created.id}/cancel`, {}, key('cancel'))).status).toBe(
      202,
    )
    await waitFor(client, created.id, statusIs('canceled'))
    const late = await client.post(`/v1/payments/${created.id}/capture`, {}, key('late'))
    expect(late.status).toBe(409)
    expect(late.json.error).toMatchObject({ code: 'payment_invalid_state', status: 'canceled' })
    await eventually(() => expect(receiver.of('payment.canceled', created.id)).toHaveLength(1))
    await expectBalancedLedger(region.db)
  })

  it('partial refunds add up to the captured amount and never beyond', async () => {
    const client = region.client(merchant)
    const created = await createPayment(client, { amount: 1000 })
    await waitFor(client, created.id, statusIs('captured'))
    const first = await client.post(
      `/v1/payments/${created.id}/refunds`,
      { amount: 300 },
      key('r1'),
    )
    expect(first.status).toBe(202)
    expect(first.json).toMatchObject({ object: 'refund', amount: 300, status: 'pending' })
    const tooMuch = await client.post(
      `/v1/payments/${created.id}/refunds`,
      { amount: 701 },
      key('r-over'),
    )
    expect(tooMuch.status).toBe(400)
    expect(tooMuch.json.error.code).toBe('amount_exceeds_refundable')
    await waitFor(
      client,
      created.id,
      (p) => p.status === 'partially_refunded' && p.amount_refunded === 300,
    )
    const rest = await client.post(`/v1/payments/${created.id}/refunds`, {}, key('r2'))
    expect(rest.json.amount).toBe(700)
    await waitFor(client, created.id, (p) => p.status === 'refunded' && p.amount_refunded === 1000)
    const after = await client.post(`/v1/payments/${created.id}/refunds`, { amount: 1 }, key('r3'))
    expect(after.status).toBe(409)
    await eventually(() =>
      expect(
        receiver.of('refund.succeeded').filter((d) => d.body.data.object.payment === created.id),
      ).toHaveLength(2),
    )
    expect(
      region.sims.reduce((s, sim) => s + (sim.engine.stats.refunds.get(created.id) ?? 0), 0),
    ).toBe(2)
    await expectBalancedLedger(region.db)
  })

  it('a declined card ends declined with the processor’s reason, and nothing is booked', async () => {
    const client = region.client(merchant)
    const created = await createPayment(client, {
      amount: 500,
      payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
    })
    const done = await waitFor(client, created.id, statusIs('declined'))
    expect(done.decline_code).toMatch(/insufficient_funds/)
    const { rows } = await region.db.pool.query(
      'select count(*)::int as n from journal_entries where payment_id = $1',
      [created.id],
    )
    expect(rows[0].n).toBe(0)
    await eventually(() => expect(receiver.of('payment.declined', created.id)).toHaveLength(1))
  })
})
