/**
 * `pnpm ledger:check [--region us-east] [--database-url URL --schema S] [--json]`
 * Verifies every journal entry balances per currency and every maintained balance equals the sum
 * of its postings, for each region of the local topology (or one database), and lists payments
 * found sharing an Idempotency-Key with another (duplicate_payments) with what was done to undo
 * them. Exit code 1 when anything is off, an open duplicate included, so drills and scripts can
 * rely on it.
 */

import { fleet } from '@meridian/core'
import { createPool, databaseUrl, withDatabase } from '@meridian/platform'
import {
  checkLedger,
  type DuplicatePayment,
  type LedgerReport,
  listDuplicates,
} from '@meridian/regions'
import { regionDatabaseName } from './topology.ts'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

function targets(): { label: string; url: string; schema?: string }[] {
  const url = arg('database-url')
  if (url) {
    const schema = arg('schema')
    return [{ label: url, url, ...(schema ? { schema } : {}) }]
  }
  const only = arg('region')
  const prefix = arg('prefix') ?? 'meridian'
  return fleet.regions
    .filter((r) => only === undefined || r.id === only)
    .map((r) => ({
      label: r.id,
      url: withDatabase(databaseUrl(), regionDatabaseName(prefix, r.id)),
    }))
}

interface Result {
  readonly label: string
  readonly report: LedgerReport
  /** Payments sharing an Idempotency-Key with another; open ones are money not yet given back. */
  readonly duplicates: readonly DuplicatePayment[]
}

const isOk = (r: Result) => r.report.ok && r.duplicates.every((d) => d.settledAt !== null)

function describe(result: Result): string {
  const { label, report: r, duplicates } = result
  const open = duplicates.filter((d) => d.settledAt === null)
  const lines = [
    `${label}: ${isOk(result) ? 'OK' : 'FAILED'} — ${r.entries} entries, ${r.postings} postings, ${duplicates.length} duplicate payments (${open.length} open)`,
  ]
  for (const d of duplicates)
    lines.push(
      `  duplicate ${d.paymentId} (key ${d.idempotencyKey} of ${d.merchantId}, kept ${d.keptPaymentId}): ${d.status ?? 'not here'}, ${d.action ?? 'waiting'}${d.operationId ? ` ${d.operationId}` : ''}, ${d.settledAt ? `compensated ${d.settledAt.toISOString()}` : 'OPEN'}`,
    )
  for (const u of r.unbalancedEntries)
    lines.push(`  unbalanced entry ${u.entry}: off by ${u.off} ${u.currency}`)
  for (const t of r.thinEntries) lines.push(`  entry ${t} has fewer than two postings`)
  for (const m of r.balanceMismatches)
    lines.push(
      `  balance of ${m.account} is ${m.maintained}, postings say ${m.postings} ${m.currency}`,
    )
  for (const g of r.globalImbalance)
    lines.push(`  the whole ledger is off by ${g.off} ${g.currency}`)
  return lines.join('\n')
}

async function main(): Promise<void> {
  const results: Result[] = []
  for (const t of targets()) {
    const pool = createPool({
      url: t.url,
      poolSizeMax: 1,
      ...(t.schema ? { schema: t.schema } : {}),
    })
    try {
      results.push({
        label: t.label,
        report: await checkLedger(pool),
        duplicates: await listDuplicates(pool),
      })
    } finally {
      await pool.end()
    }
  }
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  else for (const r of results) process.stdout.write(`${describe(r)}\n`)
  process.exit(results.every(isOk) ? 0 : 1)
}

main().catch((error: unknown) => {
  process.stderr.write(`ledger:check: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(2)
})
