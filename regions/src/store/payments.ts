import {
  admitWrite,
  type EventEnvelope,
  type IdempotencyRecord,
  invariant,
  type MeridianError,
  type Operation,
  type Payment,
  type PaymentState,
  type Plan,
  type Refund,
} from '@meridian/core'
import { inTransaction, isTransactionConflict } from '@meridian/platform'
import type pg from 'pg'
import {
  idempotencyKeys,
  merchantPlacements,
  payments,
  refunds,
  usageCounters,
  usageDayOf,
} from './columns.ts'
import { getOperations, saveOperation } from './operations.ts'
import { admission } from './placements.ts'
import type { Row } from './rows.ts'

export interface StoredResponse {
  readonly status: number
  readonly body: string
}

export interface IdempotencyWrite extends StoredResponse {
  readonly key: string
  readonly fingerprint: string
}

/** One create request's whole write: payment, idempotency record, events. */
export interface NewPaymentWrite {
  readonly payment: Payment
  readonly idempotency: IdempotencyWrite
  readonly events: readonly EventEnvelope[]
}

export type CreateOutcome =
  | { readonly kind: 'written' }
  | { readonly kind: 'key_taken' }
  | { readonly kind: 'refused'; readonly reason: 'moving' | 'stale' | 'residency' }

/** A create as the group committer takes it: the write and the placement epoch it was routed by. */
export interface RoutedPaymentWrite extends NewPaymentWrite {
  readonly epoch: number
}

/**
 * What a create writes of the payment: the rest starts at the column defaults, as empty as
 * newPayment makes it. The statuses seen start as the one status (logic, in the statement).
 */
const created = payments.domain.where((c) => !c.createdEmpty)
/** The idempotency record's own fields; the rest are the payment's. */
const createdKey = idempotencyKeys.pick('key', 'fingerprint', 'status', 'body')
const createdKeyInsert = idempotencyKeys.from({
  ...createdKey.sources,
  merchantId: payments.sources.merchantId,
  resourceId: payments.sources.id,
  originRegion: payments.sources.originRegion,
  hlc: payments.sources.hlc,
})
// The batch's records carry the creation time as milliseconds, under the column's name.
const createdMs = payments.columns.createdAtMs.name
const createdDay = usageDayOf(createdMs)
const createdUsage = usageCounters.from({
  merchantId: payments.sources.merchantId,
  day: createdDay,
  region: payments.sources.originRegion,
  count: 'count(*)',
})
invariant(
  !created.columns.some((c) => createdKey.columns.some((k) => k.name === c.name)),
  'a create batch record would carry two fields of one name',
)

/** What the batch statement reads of each merchant's placement, to admit its writes. */
const fence = merchantPlacements.pick('epoch', 'residency', 'fencedEpoch')

/**
 * One statement, so one transaction and one round trip, for a whole batch. Each write is first
 * admitted by its merchant's placement (core admitWrite, written here as SQL over the same
 * snapshot the inserts use; insertPaymentBatch checks every verdict against admitWrite), then
 * idempotency records (the unique key is the truth), then payments and outbox rows only for the
 * admitted requests whose key was new. A key already taken (Redis lost it, or another region's
 * record replicated here) inserts nothing and is answered from the stored record. A refused
 * merchant's writes insert nothing and never hold back the rest of the batch.
 */
const insertBatchSql = `
with input as (
  select x.*, ord from jsonb_array_elements($1::jsonb) with ordinality as j(item, ord),
  jsonb_to_record(j.item) as x(${created.recordType}, ${createdKey.recordType}, events jsonb, routed_epoch integer)
), verdict as (
  select input.ord, input.merchant_id, input.key, input.routed_epoch, mp.merchant_id is not null as known,
    ${fence.columns.map((c) => `mp.${c.name}`).join(', ')},
    mp.merchant_id is null or (
      (mp.residency = 'global' or mp.residency = $2)
      and input.routed_epoch > mp.fenced_epoch
      and input.routed_epoch >= mp.epoch
    ) as admitted
  from input left join merchant_placements mp on mp.merchant_id = input.merchant_id
), admitted as (
  select input.* from input join verdict on verdict.ord = input.ord where verdict.admitted
), idem as (
  -- Rows in key order, as every batch writes them: two batches in flight at once wait for each
  -- other's keys in one order and never deadlock.
  insert into idempotency_keys (${createdKeyInsert.names})
  select ${createdKeyInsert.values} from admitted
  order by merchant_id, key
  on conflict (${idempotencyKeys.key.names}) do nothing
  returning merchant_id, key
), won as (
  select admitted.* from admitted join idem on idem.merchant_id = admitted.merchant_id and idem.key = admitted.key
), pay as (
  insert into payments (${created.names}, updated_at, seen_statuses)
  select ${created.fromRecord}, ${payments.sources.createdAtMs}, array[status]
  from won
  returning id
), ob as (
  insert into outbox (event_id, merchant_id, type, envelope)
  select e.value->>'id', won.merchant_id, e.value->>'type', e.value
  from won, jsonb_array_elements(won.events) with ordinality as e(value, n)
  order by won.ord, e.n
  returning seq
), usage as (
  -- Per-region usage counters (a grow-only counter per merchant and day): this region's slot.
  insert into usage_counters (${createdUsage.names})
  select ${createdUsage.values}
  from won group by ${payments.sources.merchantId}, ${createdDay}, ${payments.sources.originRegion}
  order by ${payments.sources.merchantId}, ${createdDay}, ${payments.sources.originRegion}
  on conflict (${usageCounters.key.names}) do update set count = usage_counters.count + excluded.count
  returning 1
)
select verdict.*, idem.key is not null as written
from verdict left join idem on idem.merchant_id = verdict.merchant_id and idem.key = verdict.key
order by verdict.ord`

function toBatchItem(w: RoutedPaymentWrite): Record<string, unknown> {
  const item = created.record(w.payment)
  createdKey.record(w.idempotency, item)
  item.events = w.events
  item.routed_epoch = w.epoch
  return item
}

/** The one outcome of each write of a batch, in the batch's order. */
export async function insertPaymentBatch(
  pool: pg.Pool,
  writes: readonly RoutedPaymentWrite[],
  jurisdiction: string,
): Promise<CreateOutcome[]> {
  const batch = JSON.stringify(writes.map(toBatchItem))
  const { rows } = await runAgainOnConflict(() =>
    // Named, so each connection plans this statement once, not per batch (~0.4 ms a plan).
    pool.query<Row>({
      name: 'insert-payment-batch',
      text: insertBatchSql,
      values: [batch, jurisdiction],
    }),
  )
  invariant(rows.length === writes.length, 'the batch statement answers every write once')
  return rows.map((row, i): CreateOutcome => {
    const w = writes[i]
    invariant(w !== undefined && row.key === w.idempotency.key, 'batch answers in batch order')
    // The statement's verdict must be admitWrite's (core): the reason comes from admitWrite.
    const admission = admitWrite(row.known ? fence.read(row) : undefined, w.epoch, jurisdiction)
    invariant(
      admission.ok === row.admitted,
      `the batch statement and admitWrite disagree on ${w.payment.merchantId} at epoch ${w.epoch}`,
    )
    if (!admission.ok) return { kind: 'refused', reason: admission.reason }
    return row.written ? { kind: 'written' } : { kind: 'key_taken' }
  })
}

/** How many times one statement runs again after Postgres aborted it in a collision. */
export const conflictRetriesMax = 3

/** Run a single-statement write again when Postgres aborted it as a deadlock victim. */
async function runAgainOnConflict<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write()
    } catch (error) {
      if (attempt >= conflictRetriesMax || !isTransactionConflict(error)) throw error
    }
  }
}

const selectByMerchantSql = `select ${payments.domain.names} from payments where id = $1 and merchant_id = $2`
const selectByMerchantForUpdateSql = `${selectByMerchantSql} for update`

export async function getPayment(
  db: pg.Pool | pg.PoolClient,
  merchantId: string,
  id: string,
  forUpdate = false,
): Promise<Payment | undefined> {
  const { rows } = await db.query<Row>(
    forUpdate ? selectByMerchantForUpdateSql : selectByMerchantSql,
    [id, merchantId],
  )
  return rows[0] ? payments.read(rows[0]) : undefined
}

const listSql = `select ${payments.domain.names} from payments
     where merchant_id = $1 and ($2::text is null or (created_at, id) <
       (select created_at, id from payments where id = $2 and merchant_id = $1))
     order by created_at desc, id desc limit $3`

/**
 * Newest first (creation time, then id: ids derive from requests and do not sort by time);
 * `startingAfter` is the last id of the previous page. An unknown cursor gives an empty page.
 */
export async function listPayments(
  pool: pg.Pool,
  merchantId: string,
  limit: number,
  startingAfter: string | undefined,
): Promise<{ payments: Payment[]; hasMore: boolean }> {
  const { rows } = await pool.query<Row>(listSql, [merchantId, startingAfter ?? null, limit + 1])
  return { payments: rows.slice(0, limit).map(payments.read), hasMore: rows.length > limit }
}

/** What a replay needs of a stored idempotency record. */
const storedRecord = idempotencyKeys.pick('fingerprint', 'status', 'body')
const selectRecordSql = `select ${storedRecord.names} from idempotency_keys where ${idempotencyKeys.key.conditions(1)}`

export async function getIdempotencyRecord(
  db: pg.Pool | pg.PoolClient,
  merchantId: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const { rows } = await db.query<Row>(selectRecordSql, [merchantId, key])
  const row = rows[0]
  if (!row) return undefined
  const { fingerprint, status, body } = storedRecord.read(row)
  return { state: 'completed', fingerprint, status, body }
}

const selectRefundsSql = `select ${refunds.domain.names} from refunds where payment_id = $1 order by created_at, id`

export async function getRefunds(
  db: pg.Pool | pg.PoolClient,
  paymentId: string,
): Promise<Refund[]> {
  const { rows } = await db.query<Row>(selectRefundsSql, [paymentId])
  return rows.map(refunds.read)
}

/** What a local write of a payment may change; its statuses seen grow by its status (logic). */
const saved = payments.domain.where((c) => c.changes === 'always')
const savePaymentSql = `update payments set ${saved.assignments(2)}, updated_at = now(),
       seen_statuses = array(select distinct s from unnest(seen_statuses || $${saved.position('status', 2)}::text) as s order by s)
     where ${payments.key.conditions(1)} and version = $${saved.position('version', 2)} - 1`

/** Write every mutable column of a payment the caller holds locked; the version must follow on. */
export async function savePayment(client: pg.PoolClient, p: Payment): Promise<void> {
  const result = await client.query(savePaymentSql, [p.id, ...saved.params(p)])
  if (result.rowCount !== 1)
    throw new Error(`lost update on payment ${p.id} at version ${p.version}`)
}

const selectByIdSql = `select ${payments.domain.names} from payments where ${payments.key.conditions(1)}`
const selectByIdForUpdateSql = `${selectByIdSql} for update`

export async function getPaymentById(
  client: pg.PoolClient | pg.Pool,
  id: string,
  forUpdate = false,
): Promise<Payment | undefined> {
  const { rows } = await client.query<Row>(forUpdate ? selectByIdForUpdateSql : selectByIdSql, [id])
  return rows[0] ? payments.read(rows[0]) : undefined
}

const saveRefundSql = `insert into refunds (${refunds.all.names}) values (${refunds.all.values(1)})
     on conflict (${refunds.key.names}) do update set ${refunds.all.where((c) => c.changes !== 'never').excluded},
       updated_at = now()`

/** A refund written as it is now, whole: inserted, or replaced by the version that won. */
export async function saveRefund(client: pg.PoolClient, r: Refund, hlc: string): Promise<void> {
  await client.query(saveRefundSql, refunds.all.params({ ...r, hlc }))
}

export async function insertOutbox(
  client: pg.PoolClient,
  events: readonly EventEnvelope[],
): Promise<void> {
  for (const e of events) {
    await client.query(
      'insert into outbox (event_id, merchant_id, type, envelope) values ($1, $2, $3, $4)',
      [e.id, e.merchant_id, e.type, e],
    )
  }
}

const insertIdempotencySql = `insert into idempotency_keys (${idempotencyKeys.all.names})
     values (${idempotencyKeys.all.values(1)}) on conflict (${idempotencyKeys.key.names}) do nothing`

export async function insertIdempotency(
  client: pg.PoolClient,
  merchantId: string,
  write: IdempotencyWrite,
  resourceId: string,
  originRegion: string,
  hlc = '',
): Promise<boolean> {
  const result = await client.query(
    insertIdempotencySql,
    idempotencyKeys.all.params({
      merchantId,
      key: write.key,
      fingerprint: write.fingerprint,
      status: write.status,
      body: write.body,
      resourceId,
      originRegion,
      hlc,
    }),
  )
  return result.rowCount === 1
}

/** What a capture, cancel or refund writes, decided from the locked payment. */
export interface MutationEffect {
  readonly payment: Payment
  readonly refund?: Refund
  readonly operation?: Operation
  /** What the idempotency record points at: the refund or operation made, else the payment. */
  readonly resourceId: string
  readonly events: readonly EventEnvelope[]
  readonly response: StoredResponse
}

export type MutationOutcome =
  | { readonly kind: 'applied'; readonly response: StoredResponse }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'rejected'; readonly error: MeridianError }
  | { readonly kind: 'existing'; readonly record: IdempotencyRecord }
  | { readonly kind: 'refused'; readonly reason: 'moving' | 'stale' | 'residency' }

/**
 * Lock the payment, then look for the idempotency record: the lock serializes two requests with
 * one key, so the second sees the first's committed record and replays it instead of acting twice.
 */
export async function mutatePayment(
  pool: pg.Pool,
  request: {
    merchantId: string
    paymentId: string
    /** The region serving this request (not necessarily the payment's origin). */
    region: string
    idempotency: { key: string; fingerprint: string }
    /** The placement epoch the edge routed by, and this region's jurisdiction: admitWrite's. */
    routed: { epoch: number; jurisdiction: string }
  },
  decide: (state: PaymentState) => Plan<MutationEffect>,
): Promise<MutationOutcome> {
  return inTransaction(pool, async (client) => {
    // First, inside the transaction: a fence committed after this read waits for this write.
    const admitted = await admission(
      client,
      request.merchantId,
      request.routed.epoch,
      request.routed.jurisdiction,
    )
    if (!admitted.ok) return { kind: 'refused', reason: admitted.reason }
    const payment = await getPayment(client, request.merchantId, request.paymentId, true)
    if (!payment) return { kind: 'not_found' }
    const existing = await getIdempotencyRecord(client, request.merchantId, request.idempotency.key)
    if (existing) return { kind: 'existing', record: existing }
    const state = {
      payment,
      operations: await getOperations(client, payment.id),
      refunds: await getRefunds(client, payment.id),
    }
    const plan = decide(state)
    if (!plan.ok) return { kind: 'rejected', error: plan.error }
    const effect = plan.value
    await savePayment(client, effect.payment)
    if (effect.operation) await saveOperation(client, effect.operation, effect.payment.hlc)
    if (effect.refund) await saveRefund(client, effect.refund, effect.payment.hlc)
    await insertOutbox(client, effect.events)
    await insertIdempotency(
      client,
      request.merchantId,
      { ...request.idempotency, ...effect.response },
      effect.resourceId,
      request.region,
      effect.payment.hlc,
    )
    return { kind: 'applied', response: effect.response }
  })
}
