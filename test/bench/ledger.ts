/**
 * `pnpm bench:ledger`: postings per second into the real ledger schema (triggers on, durable
 * commits, synchronous_commit on). Each entry is a capture (four or five postings); entries are
 * written in batches per transaction, as the workers' group of changes would be. Prints figures.
 */

import { captureEntry, type JournalEntry } from '@meridian/core'
import {
  createPool,
  databaseUrl,
  ensureDatabase,
  ensureSchema,
  migrate,
  withDatabase,
} from '@meridian/platform'
import { checkLedger, writeEntries } from '@meridian/regions'
import { regionDatabaseMigrations } from '@meridian/replication'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const log = (line: string) => process.stdout.write(`${line}\n`)

async function run(
  pool: import('pg').Pool,
  entriesPerTx: number,
  connections: number,
  label: string,
) {
  let postings = 0
  let commits = 0
  let n = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(
    Array.from({ length: connections }, async (_, worker) => {
      while (performance.now() < deadline) {
        const entries: JournalEntry[] = []
        for (let i = 0; i < entriesPerTx; i++) {
          const id = `pay_${label}_${worker}_${n++}`
          entries.push(
            captureEntry(
              { id, merchantId: `mer_${n % 200}`, amount: 1000 + (n % 977), currency: 'USD' },
              `acq${n % 3}`,
              1000,
            ),
          )
        }
        const client = await pool.connect()
        try {
          await client.query('begin')
          await writeEntries(client, entries, 'us-east')
          await client.query('commit')
        } finally {
          client.release()
        }
        postings += entries.reduce((s, e) => s + e.postings.length, 0)
        commits += 1
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  log(
    `| ${entriesPerTx} | ${connections} | ${(postings / elapsed).toFixed(0)} | ${(commits / elapsed).toFixed(0)} |`,
  )
  return postings / elapsed
}

async function main(): Promise<void> {
  const url = withDatabase(databaseUrl(), 'meridian_bench')
  await ensureDatabase(url)
  const schema = `ledger_${Date.now().toString(36)}`
  const pool = createPool({ url, schema, poolSizeMax: 8 })
  await ensureSchema(pool, schema)
  await migrate(pool, regionDatabaseMigrations, schema)
  try {
    log(`ledger benchmark: ${seconds} s per row, durable commits`)
    log('| entries per commit | connections | postings/s | commits/s |')
    log('| --- | --- | --- | --- |')
    let best = 0
    for (const [perTx, conns] of [
      [1, 4],
      [50, 2],
      [200, 2],
      [500, 4],
    ] as const)
      best = Math.max(best, await run(pool, perTx, conns, `${perTx}x${conns}`))
    const report = await checkLedger(pool)
    log('')
    log(
      `best: ${best.toFixed(0)} postings/s (target ≥ 20,000); ledger check after the run: ${report.ok ? 'OK' : 'FAILED'} (${report.entries} entries, ${report.postings} postings)`,
    )
  } finally {
    await pool.query(`drop schema ${schema} cascade`)
    await pool.end()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:ledger: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
