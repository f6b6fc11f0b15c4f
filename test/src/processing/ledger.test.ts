import { captureEntry, holdEntry, type JournalEntry } from '@meridian/core'
import { inTransaction } from '@meridian/platform'
import { checkLedger, writeEntries } from '@meridian/regions'
import type { PoolClient } from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDb, type TestDb } from '../harness/pg.ts'

let db: TestDb
beforeAll(async () => {
  db = await createTestDb('ledger', 3)
})
afterAll(async () => {
  await db?.close()
})

const tx = <T>(work: (client: PoolClient) => Promise<T>) => inTransaction(db.pool, work)

const payment = (id: string) => ({
  id,
  merchantId: 'mer_ledger',
  amount: 1000,
  currency: 'USD' as const,
})

const holdA = holdEntry(payment('pay_a'), 'acq').id

describe('the ledger in Postgres', () => {
  it('keeps balances equal to the sum of postings', async () => {
    await tx((c) =>
      writeEntries(
        c,
        [holdEntry(payment('pay_a'), 'acq'), captureEntry(payment('pay_b'), 'acq', 1000)],
        'us-east',
      ),
    )
    await tx((c) => writeEntries(c, [holdEntry(payment('pay_b'), 'acq')], 'us-east'))
    const report = await checkLedger(db.pool)
    expect(report).toMatchObject({
      ok: true,
      entries: 3,
      unbalancedEntries: [],
      balanceMismatches: [],
    })
  })

  it('refuses, at commit, an entry that does not balance', async () => {
    const broken: JournalEntry = {
      id: 'pay_c:hold',
      paymentId: 'pay_c',
      merchantId: 'mer_ledger',
      kind: 'hold',
      postings: [
        { account: 'merchant:mer_ledger:pending:USD', amount: -10, currency: 'USD' },
        { account: 'processor:acq:holds:USD', amount: 9, currency: 'USD' },
      ],
    }
    // Straight SQL, past the application's own assertion: the database must refuse on its own.
    await expect(
      tx(async (c) => {
        await c.query(
          "insert into journal_entries (id, payment_id, merchant_id, kind, origin_region) values ($1, 'pay_c', 'mer_ledger', 'hold', 'us-east')",
          [broken.id],
        )
        for (const p of broken.postings) {
          await c.query(
            'insert into postings (entry_id, account, amount, currency) values ($1, $2, $3, $4)',
            [broken.id, p.account, p.amount, p.currency],
          )
        }
      }),
    ).rejects.toThrow(/does not balance/)
    expect(
      (
        await db.pool.query(
          "select count(*)::int as n from journal_entries where id = 'pay_c:hold'",
        )
      ).rows[0].n,
    ).toBe(0)
  })

  it('refuses updates, deletes and late postings to a committed entry', async () => {
    await expect(db.pool.query('update postings set amount = amount + 1')).rejects.toThrow(
      /append-only/,
    )
    await expect(db.pool.query('delete from journal_entries')).rejects.toThrow(/append-only/)
    await expect(
      tx(async (c) => {
        await c.query(
          "insert into postings (entry_id, account, amount, currency) values ($1, 'x', 5, 'USD')",
          [holdA],
        )
        await c.query(
          "insert into postings (entry_id, account, amount, currency) values ($1, 'y', -5, 'USD')",
          [holdA],
        )
      }),
    ).rejects.toThrow(/committed earlier/)
    expect((await checkLedger(db.pool)).ok).toBe(true)
  })

  it('the checker finds corruption that bypassed the triggers', async () => {
    // A superuser can switch triggers off for the session: exactly what the checker must catch.
    await tx(async (c) => {
      await c.query('set local session_replication_role = replica')
      await c.query(
        "insert into postings (entry_id, account, amount, currency) values ($1, 'merchant:mer_ledger:pending:USD', 7, 'USD')",
        [holdA],
      )
    })
    const report = await checkLedger(db.pool)
    expect(report.ok).toBe(false)
    expect(report.unbalancedEntries).toEqual([{ entry: holdA, currency: 'USD', off: 7 }])
    expect(report.balanceMismatches).toHaveLength(1)
    expect(report.globalImbalance).toEqual([{ currency: 'USD', off: 7 }])
  })
})
