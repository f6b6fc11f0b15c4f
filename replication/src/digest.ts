import { createHash } from 'node:crypto'
import { configSummary, type Table, tables } from '@meridian/regions/replication'
import type pg from 'pg'

/**
 * A deterministic digest of a region's replicated state. Two regions that have applied the same
 * updates have the same digest, whatever order the updates arrived in: that is convergence, and
 * tests, the simulator and the drills compare these. What each section hashes of a row is in the
 * column maps (`digest` on each column, regions/src/store/columns.ts): purely local bookkeeping
 * (update times, which processor a still-pending payment is pinned to) is left out.
 */
type Hashed = Pick<Table<never, never>, 'name' | 'digest'>

function lineOf(table: Hashed, separator = '|'): string {
  return `concat_ws('${separator}', ${table.digest.join(', ')})`
}

function section(table: Hashed): string {
  return `select ${lineOf(table)} as line from ${table.name}`
}

const { journalEntries, postings } = tables
const sections: Record<string, string> = {
  payments: section(tables.payments),
  refunds: section(tables.refunds),
  operations: section(tables.paymentOperations),
  // An entry's line holds its postings, in a fixed order, so the entry is hashed whole.
  ledger: `select concat_ws('|', ${journalEntries.digest.join(', ')},
      (select string_agg(${lineOf(postings, ':')}, ',' order by account, amount) from ${postings.name} p where p.entry_id = e.id))
      as line from ${journalEntries.name} e`,
  idempotency: section(tables.idempotencyKeys),
  usage: section(tables.usageCounters),
  conflicts: section(tables.replicationConflicts),
  placements: section(tables.merchantPlacements),
}

export interface StateDigest {
  readonly digest: string
  readonly sections: Readonly<Record<string, { rows: number; digest: string }>>
}

/** The lines the digest hashes, per section: what a diverged region can be compared by. */
export async function stateLines(
  db: pg.Pool | pg.PoolClient,
): Promise<Record<string, readonly string[]>> {
  const out: Record<string, readonly string[]> = {}
  for (const [name, sql] of Object.entries(sections)) {
    const { rows } = await db.query<{ line: string }>(`${sql} order by line`)
    out[name] = rows.map((r) => r.line)
  }
  const merchants = await db.query<{ merchant_id: string }>(
    'select merchant_id from merchant_configs order by merchant_id',
  )
  const configs: string[] = []
  for (const { merchant_id } of merchants.rows)
    configs.push(`${merchant_id}|${await configSummary(db, merchant_id)}`)
  out.configs = configs
  return out
}

export async function stateDigest(db: pg.Pool | pg.PoolClient): Promise<StateDigest> {
  const sectionsOut: Record<string, { rows: number; digest: string }> = {}
  for (const [name, lines] of Object.entries(await stateLines(db)))
    sectionsOut[name] = {
      rows: lines.length,
      digest: createHash('sha256').update(lines.join('\n')).digest('hex'),
    }
  const digest = createHash('sha256')
    .update(
      Object.entries(sectionsOut)
        .map(([k, v]) => `${k}:${v.digest}`)
        .join('\n'),
    )
    .digest('hex')
  return { digest, sections: sectionsOut }
}
