import { HybridClock } from '@meridian/core'
import { insertPaymentBatch, type RoutedPaymentWrite } from '@meridian/regions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testPayment } from '../harness/events.ts'
import { createTestDb, type TestDb } from '../harness/pg.ts'

let db: TestDb
beforeAll(async () => {
  db = await createTestDb('batch_conflicts', 4)
})
afterAll(async () => {
  await db?.close()
})

const clock = new HybridClock('us-east')

function write(merchantId: string, key: string, seq: number): RoutedPaymentWrite {
  const payment = testPayment('us-east', clock.now(), merchantId, seq)
  return {
    payment,
    idempotency: { key, fingerprint: `f${seq}`, status: 202, body: '{}' },
    events: [],
    epoch: 1,
  }
}

describe('group commits in flight at once', () => {
  it('never deadlock on shared rows, whatever order their requests came in', async () => {
    // Two batches commit at once (the fast path keeps two in flight). They share merchants (usage
    // counters) and, after a Redis loss, idempotency keys, each batch in the opposite order.
    const merchants = Array.from({ length: 12 }, (_, i) => `mer_conflict_${i}`)
    let seq = 0
    let written = 0
    for (let round = 0; round < 20; round++) {
      const forward = merchants.map((m, i) => write(m, `r${round}_k${i}`, seq++))
      const backward = merchants.map((m, i) => write(m, `r${round}_k${i}`, seq++)).reverse()
      const outcomes = await Promise.all([
        insertPaymentBatch(db.pool, forward, 'us'),
        insertPaymentBatch(db.pool, backward, 'us'),
      ])
      const won = outcomes.flat().filter((o) => o.kind === 'written').length
      // Each key is taken by exactly one of the two batches.
      expect(won).toBe(merchants.length)
      written += won
    }
    const { rows } = await db.pool.query<{ payments: number; usage: number; keys: number }>(
      `select (select count(*)::int from payments) as payments,
              (select sum(count)::int from usage_counters) as usage,
              (select count(*)::int from idempotency_keys) as keys`,
    )
    expect(rows[0]).toEqual({ payments: written, usage: written, keys: written })
  })
})
