import {
  assertBalanced,
  type BalanceRow,
  type CurrencyCode,
  isCurrencyCode,
  type JournalEntry,
} from '@meridian/core'
import type pg from 'pg'
import { journalEntries, postings } from '../store/columns.ts'
import { toMinor } from '../store/rows.ts'

const insertEntriesSql = `insert into journal_entries (${journalEntries.all.names})
     select * from unnest(${journalEntries.all.unnest(1)})`
const insertPostingsSql = `insert into postings (${postings.all.names})
     select * from unnest(${postings.all.unnest(1)})`

/**
 * Write journal entries and their postings: two statements, whatever the number of entries.
 * Each entry is asserted balanced here; the deferred trigger checks again at commit.
 */
export async function writeEntries(
  client: pg.PoolClient,
  entries: readonly JournalEntry[],
  originRegion: string,
): Promise<void> {
  if (entries.length === 0) return
  for (const e of entries) assertBalanced(e)
  await client.query(
    insertEntriesSql,
    journalEntries.all.arrays(entries.map((e) => ({ ...e, originRegion }))),
  )
  const rows = entries.flatMap((e) => e.postings.map((p) => ({ ...p, entryId: e.id })))
  await client.query(insertPostingsSql, postings.all.arrays(rows))
}

function currencyOf(text: string): CurrencyCode {
  const code = text.trim()
  if (!isCurrencyCode(code)) throw new Error(`unknown currency in ledger: ${code}`)
  return code
}

export async function merchantBalances(pool: pg.Pool, merchantId: string): Promise<BalanceRow[]> {
  const { rows } = await pool.query<{ account: string; currency: string; balance: string }>(
    'select account, currency, balance from account_balances where merchant_id = $1',
    [merchantId],
  )
  return rows.map((r) => ({
    account: r.account,
    currency: currencyOf(r.currency),
    balance: toMinor(r.balance),
  }))
}

export interface LedgerReport {
  readonly entries: number
  readonly postings: number
  /** Entries whose postings do not sum to zero in some currency. */
  readonly unbalancedEntries: readonly { entry: string; currency: string; off: number }[]
  /** Entries with fewer than two postings. */
  readonly thinEntries: readonly string[]
  /** Accounts whose maintained balance differs from the sum of their postings. */
  readonly balanceMismatches: readonly {
    account: string
    currency: string
    maintained: number
    postings: number
  }[]
  /** Per currency, the sum of all postings (zero in a sound ledger). */
  readonly globalImbalance: readonly { currency: string; off: number }[]
  readonly ok: boolean
}

/** Recompute everything from postings and compare: the checker behind `pnpm ledger:check`. */
export async function checkLedger(db: pg.Pool | pg.PoolClient): Promise<LedgerReport> {
  const count = await db.query<{ entries: string; postings: string }>(
    'select (select count(*) from journal_entries) as entries, (select count(*) from postings) as postings',
  )
  const unbalanced = await db.query<{ entry_id: string; currency: string; off: string }>(
    `select entry_id, currency, sum(amount) as off from postings group by entry_id, currency having sum(amount) <> 0 limit 100`,
  )
  const thin = await db.query<{ id: string }>(
    `select e.id from journal_entries e left join postings p on p.entry_id = e.id group by e.id having count(p.id) < 2 limit 100`,
  )
  const mismatched = await db.query<{
    account: string
    currency: string
    maintained: string
    postings: string
  }>(
    `select coalesce(b.account, p.account) as account, coalesce(b.currency, p.currency) as currency,
            coalesce(b.balance, 0) as maintained, coalesce(p.total, 0) as postings
     from account_balances b
     full join (select account, currency, sum(amount) as total from postings group by account, currency) p
       on p.account = b.account and p.currency = b.currency
     where coalesce(b.balance, 0) <> coalesce(p.total, 0) limit 100`,
  )
  const global = await db.query<{ currency: string; off: string }>(
    'select currency, sum(amount) as off from postings group by currency having sum(amount) <> 0',
  )
  const report = {
    entries: Number(count.rows[0]?.entries ?? 0),
    postings: Number(count.rows[0]?.postings ?? 0),
    unbalancedEntries: unbalanced.rows.map((r) => ({
      entry: r.entry_id,
      currency: r.currency.trim(),
      off: Number(r.off),
    })),
    thinEntries: thin.rows.map((r) => r.id),
    balanceMismatches: mismatched.rows.map((r) => ({
      account: r.account,
      currency: r.currency.trim(),
      maintained: Number(r.maintained),
      postings: Number(r.postings),
    })),
    globalImbalance: global.rows.map((r) => ({ currency: r.currency.trim(), off: Number(r.off) })),
  }
  const ok =
    report.unbalancedEntries.length === 0 &&
    report.thinEntries.length === 0 &&
    report.balanceMismatches.length === 0 &&
    report.globalImbalance.length === 0
  return { ...report, ok }
}
