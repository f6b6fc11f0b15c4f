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
  operationColumns,
  paymentColumns,
  refundColumns,
  rowToOperation,
  rowToPayment,
  rowToRefund,
  saveOperation,
  saveRefund,
  writeEntries,
} from '@meridian/regions'
import type pg from 'pg'

/**
 * Merging replicated state into this region's tables, each kind with its rule from
 * core/merge.ts, a whole batch at a time (one query per kind, not per event). Runs inside the
 * applier's transaction.
 */
async function flag(
  client: pg.PoolClient,
  kind: string,
  subject: string,
  detail: unknown,
): Promise<void> {
  await client.query(
    `insert into replication_conflicts (kind, subject, detail) values ($1, $2, $3)
     on conflict (kind, subject) do update set detail = excluded.detail`,
    [kind, subject, JSON.stringify(detail)],
  )
}

function row(p: Payment, seen: readonly PaymentStatus[]): Record<string, unknown> {
  return {
    id: p.id,
    merchant_id: p.merchantId,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    capture_method: p.captureMethod,
    amount_captured: p.amountCaptured,
    amount_refunded: p.amountRefunded,
    amount_refund_pending: p.amountRefundPending,
    pending_operation: p.pendingOperation,
    amount_capture_requested: p.amountCaptureRequested,
    payment_method: p.paymentMethod,
    description: p.description,
    metadata: p.metadata,
    decline_code: p.declineCode,
    failure_message: p.failureMessage,
    processor: p.processor,
    processor_ref: p.processorRef,
    authorized_ms: p.authorizedAtMs,
    origin_region: p.originRegion,
    hlc: p.hlc,
    version: p.version,
    created_ms: p.createdAtMs,
    seen_statuses: seen,
  }
}

const recordType = `id text, merchant_id text, amount bigint, currency text, status text, capture_method text,
  amount_captured bigint, amount_refunded bigint, amount_refund_pending bigint, pending_operation text,
  amount_capture_requested bigint, payment_method jsonb, description text, metadata jsonb, decline_code text,
  failure_message text, processor text, processor_ref text, authorized_ms bigint, origin_region text, hlc text,
  version integer, created_ms bigint, seen_statuses text[]`

async function insertPayments(
  client: pg.PoolClient,
  replicas: readonly PaymentReplica[],
): Promise<void> {
  if (replicas.length === 0) return
  await client.query(
    `insert into payments (id, merchant_id, amount, currency, status, capture_method, amount_captured, amount_refunded,
       amount_refund_pending, pending_operation, amount_capture_requested, payment_method, description, metadata,
       decline_code, failure_message, processor, processor_ref, authorized_at, origin_region, hlc, version,
       created_at, updated_at, seen_statuses)
     select id, merchant_id, amount, currency, status, capture_method, amount_captured, amount_refunded,
       amount_refund_pending, pending_operation, amount_capture_requested, payment_method, description, metadata,
       decline_code, failure_message, processor, processor_ref, to_timestamp(authorized_ms / 1000.0), origin_region,
       hlc, version, to_timestamp(created_ms / 1000.0), now(), seen_statuses
     from jsonb_to_recordset($1::jsonb) as x(${recordType})`,
    [JSON.stringify(replicas.map((r) => row(r.payment, r.seen)))],
  )
  // Usage counters count payments: one new to this region adds one to its origin's slot, once,
  // whatever order its events arrive in. Rows in key order, as the fast path writes them: no deadlock.
  await client.query(
    `insert into usage_counters (merchant_id, day, region, count)
     select merchant_id, (to_timestamp(created_ms / 1000.0) at time zone 'UTC')::date, origin_region, count(*)
     from jsonb_to_recordset($1::jsonb) as x(merchant_id text, created_ms bigint, origin_region text)
     group by 1, 2, 3 order by 1, 2, 3
     on conflict (merchant_id, day, region) do update set count = usage_counters.count + excluded.count`,
    [
      JSON.stringify(
        replicas.map((r) => ({
          merchant_id: r.payment.merchantId,
          created_ms: r.payment.createdAtMs,
          origin_region: r.payment.originRegion,
        })),
      ),
    ],
  )
}

async function updatePayment(
  client: pg.PoolClient,
  p: Payment,
  seen: readonly PaymentStatus[],
): Promise<void> {
  // Only the mutable fields move; the identity columns must agree, or the update finds no row.
  const result = await client.query(
    `update payments set status = $4, amount_captured = $5, amount_refunded = $6, amount_refund_pending = $7,
       pending_operation = $8, amount_capture_requested = $9, decline_code = $10, failure_message = $11,
       processor = $12, processor_ref = $13, authorized_at = to_timestamp($14 / 1000.0), hlc = $15, version = $16,
       seen_statuses = $17, origin_region = $18, created_at = to_timestamp($19 / 1000.0), updated_at = now()
     where id = $1 and merchant_id = $2 and amount = $3`,
    [
      p.id,
      p.merchantId,
      p.amount,
      p.status,
      p.amountCaptured,
      p.amountRefunded,
      p.amountRefundPending,
      p.pendingOperation,
      p.amountCaptureRequested,
      p.declineCode,
      p.failureMessage,
      p.processor,
      p.processorRef,
      p.authorizedAtMs,
      p.hlc,
      p.version,
      [...seen],
      p.originRegion,
      p.createdAtMs,
    ],
  )
  invariant(
    result.rowCount === 1,
    `replicated snapshot of ${p.id} disagrees with the local payment's identity`,
  )
}

/**
 * The payment's origin or creation time moved (it was created in two regions): its one count
 * leaves the slot it was counted in here and joins the slot every region agrees on.
 */
async function moveUsage(client: pg.PoolClient, from: Payment, to: Payment): Promise<void> {
  const day = `(to_timestamp($2 / 1000.0) at time zone 'UTC')::date`
  const taken = await client.query(
    `update usage_counters set count = count - 1 where merchant_id = $1 and day = ${day} and region = $3`,
    [from.merchantId, from.createdAtMs, from.originRegion],
  )
  invariant(taken.rowCount === 1, `payment ${from.id} was never counted in its usage slot`)
  // An emptied slot is no slot, as in a region that never counted there.
  await client.query(
    `delete from usage_counters where merchant_id = $1 and day = ${day} and region = $3 and count = 0`,
    [from.merchantId, from.createdAtMs, from.originRegion],
  )
  await client.query(
    `insert into usage_counters (merchant_id, day, region, count) values ($1, ${day}, $3, 1)
     on conflict (merchant_id, day, region) do update set count = usage_counters.count + 1`,
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

/** Status lattice merge: the further snapshot wins; every status ever seen is kept. */
export async function mergePayments(
  client: pg.PoolClient,
  incoming: readonly PaymentReplica[],
): Promise<Map<string, Payment>> {
  const held = new Map<string, Payment>()
  if (incoming.length === 0) return held
  const { rows } = await client.query<Record<string, unknown>>(
    `select ${paymentColumns}, seen_statuses from payments where id = any($1) order by id for update`,
    [incoming.map((r) => r.payment.id)],
  )
  const local = new Map(
    rows.map((r) => [
      String(r.id),
      { payment: rowToPayment(r), seen: r.seen_statuses as PaymentStatus[] },
    ]),
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

/** Refunds: a set keyed by id, each merged with its status lattice (core mergeRefund). */
export async function mergeRefunds(
  client: pg.PoolClient,
  incoming: readonly { readonly refund: Refund; readonly hlc: string }[],
): Promise<string[]> {
  const moved: string[] = []
  if (incoming.length === 0) return moved
  const { rows } = await client.query<Record<string, unknown>>(
    `select ${refundColumns} from refunds where id = any($1) order by id for update`,
    [incoming.map((r) => r.refund.id)],
  )
  const held = new Map(rows.map((r) => [String(r.id), rowToRefund(r)]))
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
  const { rows } = await client.query<Record<string, unknown>>(
    `select ${operationColumns} from payment_operations where id = any($1) order by id for update`,
    [incoming.map((o) => o.operation.id)],
  )
  const held = new Map(rows.map((r) => [String(r.id), rowToOperation(r)]))
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
  const payments = await client.query<Record<string, unknown>>(
    `select ${paymentColumns} from payments where id = any($1) order by id`,
    [ids],
  )
  const ops = (
    await client.query<Record<string, unknown>>(
      `select ${operationColumns} from payment_operations where payment_id = any($1)`,
      [ids],
    )
  ).rows.map(rowToOperation)
  const refs = (
    await client.query<Record<string, unknown>>(
      `select ${refundColumns} from refunds where payment_id = any($1)`,
      [ids],
    )
  ).rows.map(rowToRefund)
  for (const row of payments.rows) {
    const p = rowToPayment(row)
    const settled = settlePayment(
      p,
      ops.filter((o) => o.paymentId === p.id),
      refs.filter((r) => r.paymentId === p.id),
    )
    if (settled === p) continue
    await client.query(
      `update payments set status = $2, amount_refunded = $3, amount_refund_pending = $4,
         pending_operation = $5, amount_capture_requested = $6, updated_at = now()
       where id = $1`,
      [
        p.id,
        settled.status,
        settled.amountRefunded,
        settled.amountRefundPending,
        settled.pendingOperation,
        settled.amountCaptureRequested,
      ],
    )
  }
}

/** Ledger entries: a grow-only set keyed by (content-addressed) id. */
export async function mergeEntries(
  client: pg.PoolClient,
  entries: readonly JournalEntry[],
  origin: string,
): Promise<void> {
  if (entries.length === 0) return
  const { rows } = await client.query<{ id: string }>(
    'select id from journal_entries where id = any($1)',
    [entries.map((e) => e.id)],
  )
  const present = new Set(rows.map((r) => r.id))
  const unique = new Map(entries.filter((e) => !present.has(e.id)).map((e) => [e.id, e]))
  await writeEntries(client, [...unique.values()], origin)
}

interface IdempotencyRow {
  merchant_id: string
  key: string
  request_hash: string
  response_status: number
  response_body: string
  resource_id: string | null
  origin_region: string
  hlc: string
}

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
  const { rows } = await client.query<IdempotencyRow>(
    `select merchant_id, key, request_hash, response_status, response_body, resource_id, origin_region, hlc
     from idempotency_keys where (merchant_id, key) in (select * from unnest($1::text[], $2::text[]))
     order by merchant_id, key for update`,
    [incoming.map((r) => r.merchantId), incoming.map((r) => r.key)],
  )
  const local = new Map(
    rows.map((r): [string, IdempotencyReplica] => [
      `${r.merchant_id}/${r.key}`,
      {
        merchantId: r.merchant_id,
        key: r.key,
        fingerprint: r.request_hash,
        status: r.response_status,
        body: r.response_body,
        resourceId: r.resource_id ?? '',
        originRegion: r.origin_region,
        hlc: r.hlc,
      },
    ]),
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
      await client.query(
        `update idempotency_keys set request_hash = $3, response_status = $4, response_body = $5, resource_id = $6,
           origin_region = $7, hlc = $8 where merchant_id = $1 and key = $2`,
        [
          remote.merchantId,
          remote.key,
          winner.fingerprint,
          winner.status,
          winner.body,
          winner.resourceId,
          winner.originRegion,
          winner.hlc,
        ],
      )
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
  await client.query(
    `insert into idempotency_keys (merchant_id, key, request_hash, response_status, response_body, resource_id, origin_region, hlc)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[])`,
    [
      fresh.map((r) => r.merchantId),
      fresh.map((r) => r.key),
      fresh.map((r) => r.fingerprint),
      fresh.map((r) => r.status),
      fresh.map((r) => r.body),
      fresh.map((r) => r.resourceId),
      fresh.map((r) => r.originRegion),
      fresh.map((r) => r.hlc),
    ],
  )
}
