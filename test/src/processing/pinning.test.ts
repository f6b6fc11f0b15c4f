import { claimAttempt, getPaymentById, pinProcessor } from '@meridian/regions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProcessingRegion, startProcessingRegion } from '../harness/processing.ts'
import { createPayment } from './helpers.ts'

/**
 * Found by the processor-outage drill (4 payments authorized twice): a worker's send to
 * acquirer-rest was refused (503) while the reconciler, holding the same pin, sent there too and
 * the card was charged; the worker then moved the payment to network-a and charged it again.
 * Moving off a processor now requires that nobody sent since the mover's own send.
 */
let region: ProcessingRegion
beforeAll(async () => {
  // Nobody processes on their own here: the test plays the worker and the reconciler.
  region = await startProcessingRegion('pinning', {
    overrides: {
      roles: { api: true, relay: false, workers: false, webhooks: false, reconciler: false },
    },
  })
})
afterAll(async () => {
  await region?.stop()
})

const pinnedTo = async (id: string) => (await getPaymentById(region.db.pool, id))?.processor

describe('pinning a pending payment to a processor', () => {
  it('refuses to move it elsewhere after another actor sent to the pinned processor', async () => {
    const { id } = await createPayment(region.client('mer_pin'), { amount: 700 })
    const pool = region.db.pool
    // The worker pins acquirer-rest and sends (its send will be refused).
    const workerAttempt = await claimAttempt(pool, id, 'acquirer-rest', null)
    expect(workerAttempt).toBe(1)
    // Meanwhile the reconciler finds it stuck and sends to the same processor.
    expect(await claimAttempt(pool, id, 'acquirer-rest')).toBe(2)
    // The worker's refusal must not move the payment: the reconciler's send may have charged.
    expect(
      await claimAttempt(pool, id, 'network-a', 'acquirer-rest', workerAttempt),
    ).toBeUndefined()
    expect(await pinProcessor(pool, id, null, 'acquirer-rest', workerAttempt)).toBe(false)
    expect(await pinnedTo(id)).toBe('acquirer-rest')
  })

  it('moves it when nobody else sent, and then a stale actor may not send to the old one', async () => {
    const { id } = await createPayment(region.client('mer_pin'), { amount: 800 })
    const pool = region.db.pool
    const attempt = await claimAttempt(pool, id, 'acquirer-rest', null)
    expect(await claimAttempt(pool, id, 'network-a', 'acquirer-rest', attempt)).toBe(2)
    expect(await pinnedTo(id)).toBe('network-a')
    // The reconciler read the payment before the move: its claim on acquirer-rest fails.
    expect(await claimAttempt(pool, id, 'acquirer-rest')).toBeUndefined()
    expect(await claimAttempt(pool, id, 'network-a')).toBe(3)
  })
})
