import { operationIdFor } from '@meridian/core'
import { checkLedger } from '@meridian/regions'
import { stateDigest, stateLines } from '@meridian/replication'
import type pg from 'pg'
import type { Acknowledged, Order } from './load.ts'
import type { OpRecord } from './ops.ts'

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
  /** Captures, cancels and refunds the drill sent (split-brain-ops), with their merchant. */
  readonly operations?: { readonly merchantId: string; readonly records: readonly OpRecord[] }
}

export interface Counts {
  readonly lost: number
  readonly duplicated: number
  readonly unbalanced: number
  readonly diverged: number
  readonly stuck: number
  /**
   * A region showing amounts (captured, refunded) other than what the processors did for a
   * payment, or a refund succeeded on one side and not on the other: a merchant shown money
   * that did not move, or not shown money that did.
   */
  readonly mismatched: number
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
    mismatched: [],
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

  // The processors' side: what they did, per payment and per operation.
  const truth = await processorTruth(input.simulators)
  for (const [id, n] of truth.capturesByPayment)
    if (n > 1) {
      duplicated++
      note('duplicated', `${id}: captured ${n} times at the processors`)
    }
  for (const [ref, n] of truth.refundsByReference)
    if (n > 1) {
      duplicated++
      note('duplicated', `refund ${ref}: executed ${n} times at the processors`)
    }
  let mismatched = 0
  let unfinished = 0
  for (const r of regions) {
    const pool = input.pools[r] as pg.Pool
    for (const m of await amountMismatches(pool, input.runId, truth)) {
      mismatched++
      note('mismatched', `${r}: ${m}`)
    }
    for (const u of await unfinishedOperations(pool, input.runId)) {
      unfinished++
      note('stuck', `${r}: ${u} not final after heal`)
    }
  }
  stuck += unfinished
  if (input.operations) {
    const found = await operationOutcomes(input.pools, input.operations)
    lost += found.lost.length
    stuck += found.open.length
    for (const x of found.lost) note('lost', x)
    for (const x of found.open) note('stuck', x)
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
    counts: { lost, duplicated, unbalanced, diverged: diverged.length, stuck, mismatched },
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

/** What the processors did: per payment (reference) and per refund reference. */
export interface ProcessorTruth {
  readonly byPayment: ReadonlyMap<string, { captured: number; refunded: number }>
  readonly capturesByPayment: ReadonlyMap<string, number>
  readonly refundsByReference: ReadonlyMap<string, number>
}

export async function processorTruth(
  simulators: Readonly<Record<string, string>>,
): Promise<ProcessorTruth> {
  const byPayment = new Map<string, { captured: number; refunded: number }>()
  const capturesByPayment = new Map<string, number>()
  const refundsByReference = new Map<string, number>()
  for (const url of Object.values(simulators)) {
    const charges = (await (await fetch(`${url}/_sim/charges`)).json()) as {
      charges: { reference: string; amountCaptured: number; amountRefunded: number }[]
    }
    for (const c of charges.charges) {
      const seen = byPayment.get(c.reference) ?? { captured: 0, refunded: 0 }
      byPayment.set(c.reference, {
        captured: seen.captured + c.amountCaptured,
        refunded: seen.refunded + c.amountRefunded,
      })
    }
    const stats = (await (await fetch(`${url}/_sim/stats`)).json()) as {
      captures: Record<string, number>
      refundsByReference?: Record<string, number>
    }
    for (const [id, n] of Object.entries(stats.captures))
      capturesByPayment.set(id, (capturesByPayment.get(id) ?? 0) + n)
    for (const [ref, n] of Object.entries(stats.refundsByReference ?? {}))
      refundsByReference.set(ref, (refundsByReference.get(ref) ?? 0) + n)
  }
  return { byPayment, capturesByPayment, refundsByReference }
}

/** Payments of the run whose amounts in this region differ from what the processors did. */
export async function amountMismatches(
  pool: pg.Pool,
  runId: string,
  truth: ProcessorTruth,
): Promise<string[]> {
  const { rows } = await pool.query<{
    id: string
    status: string
    captured: string
    refunded: string
    refunds_succeeded: string
  }>(
    `select p.id, p.status, p.amount_captured as captured, p.amount_refunded as refunded,
       coalesce((select sum(amount) from refunds r where r.payment_id = p.id and r.status = 'succeeded'), 0) as refunds_succeeded
     from payments p where p.metadata->>'drill_run' = $1`,
    [runId],
  )
  const out: string[] = []
  for (const p of rows) {
    const did = truth.byPayment.get(p.id) ?? { captured: 0, refunded: 0 }
    const shown = {
      captured: Number(p.captured),
      refunded: Number(p.refunded),
      refunds: Number(p.refunds_succeeded),
    }
    if (
      shown.captured !== did.captured ||
      shown.refunded !== did.refunded ||
      shown.refunds !== did.refunded
    )
      out.push(
        `${p.id} (${p.status}) shows captured ${shown.captured}, refunded ${shown.refunded} (succeeded refunds ${shown.refunds}); the processors captured ${did.captured}, refunded ${did.refunded}`,
      )
  }
  return out
}

async function hasOperationsTable(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ t: string | null }>(
    "select to_regclass('payment_operations')::text as t",
  )
  return rows[0]?.t !== null && rows[0]?.t !== undefined
}

/** Refunds, captures and cancels of the run's payments not in a final state in this region. */
export async function unfinishedOperations(pool: pg.Pool, runId: string): Promise<string[]> {
  const ops = (await hasOperationsTable(pool))
    ? `union all select o.id || ' (' || o.kind || ' of ' || o.payment_id || ')' from payment_operations o
         join payments p on p.id = o.payment_id where o.status = 'pending' and p.metadata->>'drill_run' = $1`
    : ''
  const { rows } = await pool.query<{ what: string }>(
    `select r.id || ' (refund of ' || r.payment_id || ')' as what from refunds r
       join payments p on p.id = r.payment_id where r.status = 'pending' and p.metadata->>'drill_run' = $1
     union all select p.id || ' (' || p.pending_operation || ' in progress)' from payments p
       where p.pending_operation is not null and p.metadata->>'drill_run' = $1
     ${ops}`,
    [runId],
  )
  return rows.map((r) => r.what)
}

/**
 * Every operation the gateway acknowledged has a recorded, final outcome in every region: a
 * refund by its id; a capture or cancel by its operation (its id derives from the merchant and
 * the key), or, where operations are not recorded (code before them), by the payment showing
 * that operation's effect.
 */
export async function operationOutcomes(
  pools: Readonly<Record<string, pg.Pool>>,
  operations: NonNullable<CheckInput['operations']>,
): Promise<{ lost: string[]; open: string[] }> {
  const lost: string[] = []
  const open: string[] = []
  const acknowledged = operations.records.filter((o) => o.status >= 200 && o.status < 300)
  for (const [region, pool] of Object.entries(pools)) {
    const recorded = await hasOperationsTable(pool)
    for (const op of acknowledged) {
      const what = `${op.kind} ${op.key} of ${op.paymentId} (${op.phase}, acknowledged by ${op.region ?? '?'})`
      if (op.kind === 'refund') {
        const { rows } = await pool.query<{ status: string }>(
          'select status from refunds where id = $1',
          [op.refundId],
        )
        if (rows.length === 0) lost.push(`${region}: ${what}: refund ${op.refundId} missing`)
        else if (rows[0]?.status === 'pending') open.push(`${region}: ${what}: still pending`)
        continue
      }
      if (recorded) {
        const id = await operationIdFor('operation', operations.merchantId, op.key)
        const { rows } = await pool.query<{ status: string }>(
          'select status from payment_operations where id = $1',
          [id],
        )
        if (rows.length === 0) lost.push(`${region}: ${what}: operation ${id} missing`)
        else if (rows[0]?.status === 'pending') open.push(`${region}: ${what}: still pending`)
        continue
      }
      const { rows } = await pool.query<{ status: string; pending_operation: string | null }>(
        'select status, pending_operation from payments where id = $1',
        [op.paymentId],
      )
      const p = rows[0]
      const effect = op.kind === 'capture' ? p?.status === 'captured' : p?.status === 'canceled'
      if (!p || p.pending_operation !== null || !effect)
        open.push(
          `${region}: ${what}: no outcome recorded (payment ${p?.status ?? 'missing'}${p?.pending_operation ? `, ${p.pending_operation} in progress` : ''})`,
        )
    }
  }
  return { lost, open }
}
