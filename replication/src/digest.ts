import { createHash } from 'node:crypto'
import { configSummary } from '@meridian/regions'
import type pg from 'pg'

/**
 * A deterministic digest of a region's replicated state. Two regions that have applied the same
 * updates have the same digest, whatever order the updates arrived in: that is convergence, and
 * tests, the simulator and the drills compare these. Purely local bookkeeping (update times,
 * which processor a still-pending payment is pinned to) is left out.
 */
const sections: Record<string, string> = {
  payments: `select concat_ws('|', id, merchant_id, amount, currency, status, capture_method, amount_captured,
      amount_refunded, amount_refund_pending, pending_operation, amount_capture_requested, decline_code,
      failure_message, case when status = 'pending' then null else processor end,
      case when status = 'pending' then null else processor_ref end, hlc, version,
      array_to_string(seen_statuses, ',')) as line from payments`,
  refunds: `select concat_ws('|', id, payment_id, amount, currency, status, failure_message) as line from refunds`,
  operations: `select concat_ws('|', id, payment_id, kind, amount, currency, reason, status, failure_code,
      failure_message) as line from payment_operations`,
  ledger: `select concat_ws('|', e.id, e.payment_id, e.kind,
      (select string_agg(concat_ws(':', account, amount, currency), ',' order by account, amount) from postings p where p.entry_id = e.id))
      as line from journal_entries e`,
  idempotency: `select concat_ws('|', merchant_id, key, request_hash, response_status, md5(response_body), resource_id,
      origin_region, hlc) as line from idempotency_keys`,
  usage: `select concat_ws('|', merchant_id, day, region, count) as line from usage_counters`,
  conflicts: `select concat_ws('|', kind, subject) as line from replication_conflicts`,
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
