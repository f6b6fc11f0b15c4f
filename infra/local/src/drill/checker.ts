import { checkLedger } from '@meridian/regions'
import { stateDigest, stateLines } from '@meridian/replication'
import type pg from 'pg'
import type { Acknowledged, Order } from './load.ts'

/** Every acknowledged payment ends in one of these (automatic capture); anything else is stuck. */
export const settledStatuses = [
  'captured',
  'declined',
  'failed',
  'canceled',
  'refunded',
  'partially_refunded',
]

export interface CheckInput {
  /** region → its database */
  readonly pools: Readonly<Record<string, pg.Pool>>
  /** processor name → its simulator's URL */
  readonly simulators: Readonly<Record<string, string>>
  readonly runId: string
  readonly orders: ReadonlyMap<string, Order>
  readonly acknowledged: readonly Acknowledged[]
}

export interface Counts {
  readonly lost: number
  readonly duplicated: number
  readonly unbalanced: number
  readonly diverged: number
  readonly stuck: number
}

export interface CheckResult {
  readonly counts: Counts
  /** A few examples per finding, for the report. */
  readonly examples: Readonly<Record<keyof Counts, readonly string[]>>
  readonly digests: Readonly<Record<string, string>>
  readonly acknowledged: number
  readonly payments: number
  readonly authorizations: number
}

interface Row {
  id: string
  key: string
  status: string
  pending_operation: string | null
}

const examplesMax = 10

/** Authorizations per payment id at each processor simulator (name → its URL). */
export async function authorizationsAt(
  simulators: Readonly<Record<string, string>>,
): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>()
  for (const [name, url] of Object.entries(simulators)) {
    const response = await fetch(`${url}/_sim/stats`)
    if (!response.ok) throw new Error(`simulator ${url}: /_sim/stats answered ${response.status}`)
    const stats = (await response.json()) as { authorizations: Record<string, number> }
    for (const [id, n] of Object.entries(stats.authorizations))
      out.set(id, { ...out.get(id), [name]: n })
  }
  return out
}

/** Authorizations per payment id, summed over the simulators at `urls`. */
export async function authorizationsByPayment(
  urls: readonly string[],
): Promise<Map<string, number>> {
  const at = await authorizationsAt(Object.fromEntries(urls.map((u) => [u, u])))
  return new Map([...at].map(([id, byProcessor]) => [id, sum(Object.values(byProcessor))]))
}

const sum = (xs: readonly number[]) => xs.reduce((s, n) => s + n, 0)

async function runPayments(pool: pg.Pool, runId: string): Promise<Row[]> {
  const { rows } = await pool.query<Row>(
    `select id, metadata->>'drill_key' as key, status, pending_operation
       from payments where metadata->>'drill_run' = $1`,
    [runId],
  )
  return rows
}

/**
 * The Jepsen-style check of one drill, after heal and convergence: every acknowledged payment
 * present in every region (else lost); one payment and at most one authorization per
 * Idempotency-Key (else duplicated); every ledger entry balanced; identical state digests in all
 * regions (else diverged); every acknowledged payment settled (else stuck).
 */
export async function check(input: CheckInput): Promise<CheckResult> {
  const regions = Object.keys(input.pools)
  const byRegion = new Map<string, Row[]>()
  for (const r of regions)
    byRegion.set(r, await runPayments(input.pools[r] as pg.Pool, input.runId))
  const examples: Record<keyof Counts, string[]> = {
    lost: [],
    duplicated: [],
    unbalanced: [],
    diverged: [],
    stuck: [],
  }
  const note = (kind: keyof Counts, text: string) => {
    if (examples[kind].length < examplesMax) examples[kind].push(text)
  }

  let lost = 0
  let stuck = 0
  for (const ack of input.acknowledged) {
    const missing = regions.filter((r) => !byRegion.get(r)?.some((p) => p.id === ack.paymentId))
    if (missing.length > 0) {
      lost++
      note(
        'lost',
        `${ack.paymentId} (${ack.key}, acknowledged by ${ack.region}) missing in ${missing.join(', ')}`,
      )
      continue
    }
    const unsettled = regions.flatMap((r) =>
      (byRegion.get(r) ?? [])
        .filter(
          (p) =>
            p.id === ack.paymentId &&
            (!settledStatuses.includes(p.status) || p.pending_operation !== null),
        )
        .map((p) => `${r}: ${p.status}${p.pending_operation ? ` (${p.pending_operation})` : ''}`),
    )
    if (unsettled.length > 0) {
      stuck++
      note('stuck', `${ack.paymentId}: ${unsettled.join(', ')}`)
    }
  }

  // Every key this run sent, acknowledged or not: one payment, one authorization at most.
  const idsByKey = new Map<string, Set<string>>()
  for (const rows of byRegion.values())
    for (const p of rows) idsByKey.set(p.key, (idsByKey.get(p.key) ?? new Set()).add(p.id))
  const authorizations = await authorizationsAt(input.simulators)
  let duplicated = 0
  let authorizationsTotal = 0
  for (const [key, ids] of idsByKey) {
    const where = [...ids].flatMap((id) =>
      Object.entries(authorizations.get(id) ?? {}).map(([name, n]) => ({ id, name, n })),
    )
    const auths = sum(where.map((w) => w.n))
    authorizationsTotal += auths
    if (ids.size > 1 || auths > 1) {
      duplicated++
      note(
        'duplicated',
        `${key}: ${ids.size} payments (${[...ids].join(', ')}), ${auths} authorizations (${where.map((w) => `${w.n} at ${w.name}`).join(', ')})`,
      )
    }
  }
  for (const ack of input.acknowledged)
    if (!idsByKey.get(ack.key)?.has(ack.paymentId) && idsByKey.has(ack.key)) {
      duplicated++
      note(
        'duplicated',
        `${ack.key}: acknowledged as ${ack.paymentId}, stored as ${[...(idsByKey.get(ack.key) ?? [])].join(', ')}`,
      )
    }

  let unbalanced = 0
  const digests: Record<string, string> = {}
  for (const r of regions) {
    const pool = input.pools[r] as pg.Pool
    const ledger = await checkLedger(pool)
    const problems =
      ledger.unbalancedEntries.length +
      ledger.thinEntries.length +
      ledger.balanceMismatches.length +
      ledger.globalImbalance.length
    unbalanced += problems
    if (problems > 0)
      note(
        'unbalanced',
        `${r}: ${JSON.stringify({ entries: ledger.unbalancedEntries, thin: ledger.thinEntries, balances: ledger.balanceMismatches, global: ledger.globalImbalance }).slice(0, 300)}`,
      )
    digests[r] = (await stateDigest(pool)).digest
  }
  const diverged = divergedRegions(digests)
  const reference = regions.find((r) => !diverged.includes(r))
  for (const r of diverged) {
    note('diverged', `${r}: digest ${digests[r]?.slice(0, 12)} differs from the majority`)
    if (reference === undefined) continue
    const differences = await stateDifferences(
      input.pools[reference] as pg.Pool,
      input.pools[r] as pg.Pool,
    )
    for (const d of differences.slice(0, examplesMax - 2))
      note('diverged', `${r} vs ${reference}: ${d}`)
  }

  return {
    counts: { lost, duplicated, unbalanced, diverged: diverged.length, stuck },
    examples,
    digests,
    acknowledged: input.acknowledged.length,
    payments: idsByKey.size,
    authorizations: authorizationsTotal,
  }
}

/** Regions whose digest differs from the most common one (ties: the first region's wins). */
export function divergedRegions(digests: Readonly<Record<string, string>>): string[] {
  const counts = new Map<string, number>()
  for (const d of Object.values(digests)) counts.set(d, (counts.get(d) ?? 0) + 1)
  const majority = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0]
  return Object.entries(digests)
    .filter(([, d]) => d !== majority)
    .map(([r]) => r)
}

/** Section lines one region holds and the other does not, both ways: what to look at first. */
export async function stateDifferences(reference: pg.Pool, other: pg.Pool): Promise<string[]> {
  const [a, b] = [await stateLines(reference), await stateLines(other)]
  const out: string[] = []
  for (const [section, lines] of Object.entries(a)) {
    const theirs = new Set(b[section] ?? [])
    const ours = new Set(lines)
    for (const line of lines)
      if (!theirs.has(line)) out.push(`${section} only in reference: ${line}`)
    for (const line of theirs) if (!ours.has(line)) out.push(`${section} only here: ${line}`)
  }
  return out
}
