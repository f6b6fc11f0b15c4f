import {
  contradictions,
  type IdempotencyReplica,
  invariant,
  type JournalEntry,
  mergeIdempotency,
  mergeOperation,
  mergePayment,
  mergeRefund,
  type Operation,
  type Payment,
  type PaymentReplica,
  type PaymentStatus,
  type Refund,
  settlePayment,
} from '@meridian/core'
import {
  type ReplicationConflict,
  type Row,
  saveOperation,
  saveRefund,
  tables,
  usageDayOf,
  writeEntries,
} from '@meridian/regions/replication'
import type pg from 'pg'

const { idempotencyKeys, journalEntries, paymentOperations, payments, refunds, usageCounters } =
  tables
const conflicts = tables.replicationConflicts

const flagSql = `insert into replication_conflicts (${conflicts.all.names}) values (${conflicts.all.values(1)})
     on conflict (${conflicts.key.names}) do update set ${conflicts.all.where((c) => c.changes !== 'never').excluded}`

/**
 * Merging replicated state into this region's tables, each kind with its rule from
 * core/merge.ts, a whole batch at a time (one query per kind, not per event). Runs inside the
 * applier's transaction.
 */
async function flag(
  client: pg.PoolClient,
  kind: ReplicationConflict['kind'],
  subject: string,
  detail: unknown,
): Promise<void> {
  await client.query(flagSql, conflicts.all.params({ kind, subject, detail }))
}

const insertPaymentsSql = `insert into payments (${payments.all.names}, updated_at)
     select ${payments.all.fromRecord}, now()
     from jsonb_to_recordset($1::jsonb) as x(${payments.all.recordType})`

/** What the usage counters need of a new payment: its slot. */
const slotOf = payments.pick('merchantId', 'originRegion', 'createdAtMs')
const createdMs = payments.columns.createdAtMs.name
const slotUsage = usageCounters.from({
  merchantId: slotOf.sources.merchantId,
  day: usageDayOf(createdMs),
  region: slotOf.sources.originRegion,
  count: 'count(*)',
})
const insertUsageSql = `insert into usage_counters (${slotUsage.names})
     select ${slotUsage.values}
     from jsonb_to_recordset($1::jsonb) as x(${slotOf.recordType})
     group by ${slotOf.sources.merchantId}, ${usageDayOf(createdMs)}, ${slotOf.sources.originRegion}
     order by ${slotOf.sources.merchantId}, ${usageDayOf(createdMs)}, ${slotOf.sources.originRegion}
     on conflict (${usageCounters.key.names}) do update set count = usage_counters.count + excluded.count`

async function insertPayments(
  client: pg.PoolClient,
  replicas: readonly PaymentReplica[],
): Promise<void> {
  if (replicas.length === 0) return
  await client.query(insertPaymentsSql, [
    JSON.stringify(replicas.map((r) => payments.all.record({ ...r.payment, seen: r.seen }))),
  ])
  // Usage counters count payments: one new to this region adds one to its origin's slot, once,
  // whatever order its events arrive in. Rows in key order, as the fast path writes them: no deadlock.
  await client.query(insertUsageSql, [
    JSON.stringify(replicas.map((r) => slotOf.record(r.payment))),
  ])
}

/**
 * Only the mutable fields move; the identity columns must agree, or the update finds no row.
 * A merge also moves the origin and creation time (every region keeps the smaller of each).
 */
const identity = payments.pick('id', 'merchantId', 'amount')
const merged = payments.all.where((c) => c.changes !== 'never')
const updatePaymentSql = `update payments set ${merged.assignments(identity.length + 1)}, updated_at = now()
     where ${identity.conditions(1)}`

async function updatePayment(
  client: pg.PoolClient,
  p: Payment,
  seen: readonly PaymentStatus[],
): Promise<void> {
  const result = await client.query(updatePaymentSql, [
    ...identity.params(p),
    ...merged.params({ ...p, seen }),
  ])
  invariant(
    result.rowCount === 1,
    `replicated snapshot of ${p.id} disagrees with the local payment's identity`,
  )
}

/** The usage slot's day of the creation time in $2 (moveUsage's parameters: merchant, ms, region). */
const movedDay = usageDayOf('$2')
const moveUsageIn = usageCounters.from({
  merchantId: '$1',
  day: movedDay,
  region: '$3',
  count: '1',
})

/**
 * The payment's origin or creation time moved (it was created in two regions): its one count
 * leaves the slot it was counted in here and joins the slot every region agrees on.
 */
async function moveUsage(client: pg.PoolClient, from: Payment, to: Payment): Promise<void> {
  const taken = await client.query(
    `update usage_counters set count = count - 1 where merchant_id = $1 and day = ${movedDay} and region = $3`,
    [from.merchantId, from.createdAtMs, from.originRegion],
  )
  invariant(taken.rowCount === 1, `payment ${from.id} was never counted in its usage slot`)
  // An emptied slot is no slot, as in a region that never counted there.
  await client.query(
    `delete from usage_counters where merchant_id = $1 and day = ${movedDay} and region = $3 and count = 0`,
    [from.merchantId, from.createdAtMs, from.originRegion],
  )
  await client.query(
    `insert into usage_counters (${moveUsageIn.names}) values (${moveUsageIn.values})
     on conflict (${usageCounters.key.names}) do update set count = usage_counters.count + 1`,
    [to.merchantId, to.createdAtMs, to.originRegion],
  )
}

/**
 * While a payment is pending here, which processor it is pinned to is this region's own
 * bookkeeping (its authorization may be in flight there); another region's snapshot never
 * replaces it. Once authorized, the snapshot's processor is the one that holds the money.
 */
function keepLocalPin(mine: PaymentReplica, merged: PaymentReplica): PaymentReplica {
  if (merged.payment.status !== 'pending' || merged.payment.processor === mine.payment.processor)
    return merged
  return { ...merged, payment: { ...merged.payment, processor: mine.payment.processor } }
}

const lockPaymentsSql = `select ${payments.all.names} from payments where id = any($1) order by id for update`

/** Status lattice merge: the further snapshot wins; every status ever seen is kept. */
export async function mergePayments(
  client: pg.PoolClient,
  incoming: readonly PaymentReplica[],
): Promise<Map<string, Payment>> {
  const held = new Map<string, Payment>()
  if (incoming.length === 0) return held
  const { rows } = await client.query<Row>(lockPaymentsSql, [incoming.map((r) => r.payment.id)])
  const local = new Map(
    rows.map((r): [string, PaymentReplica] => {
      const payment = payments.read(r)
      return [payment.id, { payment, seen: payments.extra.read(r).seen }]
    }),
  )
  const fresh: PaymentReplica[] = []
  for (const replica of incoming) {
    const mine = local.get(replica.payment.id)
    if (!mine) {
      fresh.push(replica)
      held.set(replica.payment.id, replica.payment)
      continue
    }
    const merged = keepLocalPin(mine, mergePayment(mine, replica))
    held.set(merged.payment.id, merged.payment)
    if (merged.payment !== mine.payment || merged.seen.length !== mine.seen.length) {
      await updatePayment(client, merged.payment, merged.seen)
    }
    if (
      merged.payment.originRegion !== mine.payment.originRegion ||
      merged.payment.createdAtMs !== mine.payment.createdAtMs
    )
      await moveUsage(client, mine.payment, merged.payment)
    const found = contradictions(merged.seen)
    if (found.length > 0)
      await flag(client, 'payment_status', replica.payment.id, {
        seen: merged.seen,
        contradictions: found,
      })
  }
  await insertPayments(client, fresh)
  return held
}

const lockRefundsSql = `select ${refunds.domain.names} from refunds where id = any($1) order by id for update`

/** Refunds: a set keyed by id, each merged with its status lattice (core mergeRefund). */
export async function mergeRefunds(
  client: pg.PoolClient,
  incoming: readonly { readonly refund: Refund; readonly hlc: string }[],
): Promise<string[]> {
  const moved: string[] = []
  if (incoming.length === 0) return moved
  const { rows } = await client.query<Row>(lockRefundsSql, [incoming.map((r) => r.refund.id)])
  const held = new Map(rows.map((r) => refunds.read(r)).map((r) => [r.id, r]))
  for (const { refund, hlc } of incoming) {
    const local = held.get(refund.id)
    const merged = local ? mergeRefund(local, refund) : refund
    if (merged === local) continue
    // Two versions of one refund (one key, two regions) may name different payments.
    if (local && local.paymentId !== merged.paymentId) moved.push(local.paymentId)
    await saveRefund(client, merged, hlc)
    held.set(refund.id, merged)
  }
  return moved
}

const lockOperationsSql = `select ${paymentOperations.domain.names} from payment_operations where id = any($1) order by id for update`

/**
 * Operations (captures and cancels): a set keyed by id, each merged with its status lattice, so
 * an operation one region accepted during a partition is kept beside another region's, and
 * each reaches its own final state.
 */
export async function mergeOperations(
  client: pg.PoolClient,
  incoming: readonly { readonly operation: Operation; readonly hlc: string }[],
): Promise<string[]> {
  const moved: string[] = []
  if (incoming.length === 0) return moved
  const { rows } = await client.query<Row>(lockOperationsSql, [incoming.map((o) => o.operation.id)])
  const held = new Map(rows.map((r) => paymentOperations.read(r)).map((o) => [o.id, o]))
  for (const { operation, hlc } of incoming) {
    const local = held.get(operation.id)
    const merged = local ? mergeOperation(local, operation) : operation
    if (merged === local) continue
    if (local && local.paymentId !== merged.paymentId) moved.push(local.paymentId)
    await saveOperation(client, merged, hlc)
    held.set(operation.id, merged)
  }
  return moved
}

const settlePaymentsSql = `select ${payments.domain.names} from payments where id = any($1) order by id`
const settleOperationsSql = `select ${paymentOperations.domain.names} from payment_operations where payment_id = any($1)`
const settleRefundsSql = `select ${refunds.domain.names} from refunds where payment_id = any($1)`
/** The fields settlePayment derives. */
const derived = payments.domain.where((c) => c.settled)
const settleSql = `update payments set ${derived.assignments(payments.key.length + 1)}, updated_at = now()
       where ${payments.key.conditions(1)}`

/**
 * After a batch merged: each touched payment's derived fields (what is in progress, what was
 * refunded, captured or refunded status) from the operations and refunds this region now holds.
 * Version and clock stay the winning snapshot's: this is the same function of the same sets in
 * every region, not a new write. Most batches are creates, with nothing to settle: one query
 * finds the payments that hold operations or refunds, or whose snapshot says they do.
 */
export async function settleMerged(
  client: pg.PoolClient,
  merged: ReadonlyMap<string, Payment>,
  alsoTouched: readonly string[],
): Promise<void> {
  const candidates = [...new Set([...merged.keys(), ...alsoTouched])].sort()
  if (candidates.length === 0) return
  const { rows: holding } = await client.query<{ payment_id: string }>(
    `select payment_id from payment_operations where payment_id = any($1)
     union select payment_id from refunds where payment_id = any($1)`,
    [candidates],
  )
  const claimsSome = (p: Payment | undefined) =>
    p !== undefined &&
    (p.pendingOperation !== null || p.amountRefundPending > 0 || p.amountCaptureRequested > 0)
  const ids = [
    ...new Set([
      ...holding.map((r) => r.payment_id),
      ...candidates.filter((id) => claimsSome(merged.get(id))),
    ]),
  ].sort()
  if (ids.length === 0) return
  const held = await client.query<Row>(settlePaymentsSql, [ids])
  const ops = (await client.query<Row>(settleOperationsSql, [ids])).rows.map(paymentOperations.read)
  const refs = (await client.query<Row>(settleRefundsSql, [ids])).rows.map(refunds.read)
  for (const row of held.rows) {
    const p = payments.read(row)
    const settled = settlePayment(
      p,
      ops.filter((o) => o.paymentId === p.id),
      refs.filter((r) => r.paymentId === p.id),
    )
    if (settled === p) continue
    await client.query(settleSql, [...payments.key.params(p), ...derived.params(settled)])
  }
}

const entryIds = journalEntries.pick('id')
const presentEntriesSql = `select ${entryIds.names} from journal_entries where id = any($1)`

/** Ledger entries: a grow-only set keyed by (content-addressed) id. */
export async function mergeEntries(
  client: pg.PoolClient,
  entries: readonly JournalEntry[],
  origin: string,
): Promise<void> {
  if (entries.length === 0) return
  const { rows } = await client.query<Row>(presentEntriesSql, [entries.map((e) => e.id)])
  const present = new Set(rows.map((r) => entryIds.read(r).id))
  const unique = new Map(entries.filter((e) => !present.has(e.id)).map((e) => [e.id, e]))
  await writeEntries(client, [...unique.values()], origin)
}

const lockRecordsSql = `select ${idempotencyKeys.all.names} from idempotency_keys
     where (${idempotencyKeys.key.names}) in (select * from unnest(${idempotencyKeys.key.unnest(1)}))
     order by ${idempotencyKeys.key.names} for update`
const recordMoves = idempotencyKeys.all.where((c) => c.changes !== 'never')
const updateRecordSql = `update idempotency_keys set ${recordMoves.assignments(idempotencyKeys.key.length + 1)}
     where ${idempotencyKeys.key.conditions(1)}`
const insertRecordsSql = `insert into idempotency_keys (${idempotencyKeys.all.names})
     select * from unnest(${idempotencyKeys.all.unnest(1)})`

/** Idempotency records: the earliest record wins everywhere; a disagreement is flagged. */
export async function mergeIdempotencyRecords(
  client: pg.PoolClient,
  records: readonly IdempotencyReplica[],
): Promise<void> {
  if (records.length === 0) return
  // Fold the batch first: one record per key, remembering any disagreement inside the batch.
  const folded = new Map<
    string,
    { record: IdempotencyReplica; conflict: boolean; resources: Set<string> }
  >()
  for (const r of records) {
    const k = `${r.merchantId}/${r.key}`
    const seen = folded.get(k)
    if (!seen) {
      folded.set(k, { record: r, conflict: false, resources: new Set([r.resourceId]) })
      continue
    }
    const m = mergeIdempotency(seen.record, r)
    seen.resources.add(r.resourceId)
    folded.set(k, {
      record: m.winner,
      conflict: seen.conflict || m.conflict,
      resources: seen.resources,
    })
  }
  const incoming = [...folded.values()].map((f) => f.record)
  const { rows } = await client.query<Row>(lockRecordsSql, idempotencyKeys.key.arrays(incoming))
  const local = new Map(
    rows.map((r): [string, IdempotencyReplica] => {
      const record = idempotencyKeys.read(r)
      return [`${record.merchantId}/${record.key}`, record]
    }),
  )
  const fresh: IdempotencyReplica[] = []
  for (const remote of incoming) {
    const k = `${remote.merchantId}/${remote.key}`
    const inBatch = folded.get(k)
    const mine = local.get(k)
    if (!mine) {
      fresh.push(remote)
      if (inBatch?.conflict) {
        await flag(client, 'idempotency', k, {
          resources: [...inBatch.resources].sort(),
          winner: remote.resourceId,
        })
      }
      continue
    }
    const merged = mergeIdempotency(mine, remote)
    const winner = merged.winner
    const conflict = merged.conflict || (inBatch?.conflict ?? false)
    if (winner !== mine) {
      await client.query(updateRecordSql, [
        ...idempotencyKeys.key.params(remote),
        ...recordMoves.params(winner),
      ])
    }
    if (conflict) {
      const resources = new Set([mine.resourceId, ...(inBatch?.resources ?? [])])
      await flag(client, 'idempotency', k, {
        resources: [...resources].sort(),
        winner: winner.resourceId,
      })
    }
  }
  if (fresh.length === 0) return
  await client.query(insertRecordsSql, idempotencyKeys.all.arrays(fresh))
}
