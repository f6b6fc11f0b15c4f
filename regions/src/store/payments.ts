import type {
  EventEnvelope,
  IdempotencyRecord,
  MeridianError,
  Operation,
  Payment,
  PaymentState,
  Plan,
  Refund,
} from '@meridian/core'
import { inTransaction, isTransactionConflict } from '@meridian/platform'
import type pg from 'pg'
import { getOperations, saveOperation } from './operations.ts'
import {
  type PaymentRow,
  paymentColumns,
  refundColumns,
  rowToPayment,
  rowToRefund,
} from './rows.ts'

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

export type CreateOutcome = { readonly kind: 'written' } | { readonly kind: 'key_taken' }

/**
 * One statement, so one transaction and one round trip, for a whole batch: idempotency records
 * first (the unique key is the truth), then payments and outbox rows only for the requests whose
 * key was new. A key already taken (Redis lost it, or another region's record replicated here)
 * inserts nothing and is answered from the stored record.
 */
const insertBatchSql = `
with input as (
  select x.*, ord from jsonb_array_elements($1::jsonb) with ordinality as j(item, ord),
  jsonb_to_record(j.item) as x(
    id text, merchant_id text, amount bigint, currency text, status text, capture_method text,
    payment_method jsonb, description text, metadata jsonb, decline_code text, failure_message text,
    origin_region text, hlc text, created_ms bigint,
    idem_key text, fingerprint text, response_status int, response_body text, events jsonb)
), idem as (
  -- Rows in key order, as every batch writes them: two batches in flight at once wait for each
  -- other's keys in one order and never deadlock.
  insert into idempotency_keys (merchant_id, key, request_hash, response_status, response_body, resource_id, origin_region, hlc)
  select merchant_id, idem_key, fingerprint, response_status, response_body, id, origin_region, hlc from input
  order by merchant_id, idem_key
  on conflict (merchant_id, key) do nothing
  returning merchant_id, key
), won as (
  select input.* from input join idem on idem.merchant_id = input.merchant_id and idem.key = input.idem_key
), pay as (
  insert into payments (id, merchant_id, amount, currency, status, capture_method, payment_method,
    description, metadata, decline_code, failure_message, origin_region, hlc, created_at, updated_at, seen_statuses)
  select id, merchant_id, amount, currency, status, capture_method, payment_method, description, metadata,
    decline_code, failure_message, origin_region, hlc, to_timestamp(created_ms / 1000.0), to_timestamp(created_ms / 1000.0),
    array[status]
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
  insert into usage_counters (merchant_id, day, region, count)
  select merchant_id, (to_timestamp(created_ms / 1000.0) at time zone 'UTC')::date, origin_region, count(*)
  from won group by 1, 2, 3 order by 1, 2, 3
  on conflict (merchant_id, day, region) do update set count = usage_counters.count + excluded.count
  returning 1
)
select merchant_id, key from idem`

function toBatchItem(w: NewPaymentWrite): Record<string, unknown> {
  const p = w.payment
  return {
    id: p.id,
    merchant_id: p.merchantId,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    capture_method: p.captureMethod,
    payment_method: p.paymentMethod,
    description: p.description,
    metadata: p.metadata,
    decline_code: p.declineCode,
    failure_message: p.failureMessage,
    origin_region: p.originRegion,
    hlc: p.hlc,
    created_ms: p.createdAtMs,
    idem_key: w.idempotency.key,
    fingerprint: w.idempotency.fingerprint,
    response_status: w.idempotency.status,
    response_body: w.idempotency.body,
    events: w.events,
  }
}

export async function insertPaymentBatch(
  pool: pg.Pool,
  writes: readonly NewPaymentWrite[],
): Promise<CreateOutcome[]> {
  const batch = JSON.stringify(writes.map(toBatchItem))
  const { rows } = await runAgainOnConflict(() =>
    pool.query<{ merchant_id: string; key: string }>(insertBatchSql, [batch]),
  )
  const won = new Set(rows.map((r) => `${r.merchant_id}\u0000${r.key}`))
  return writes.map((w) =>
    won.has(`${w.payment.merchantId}\u0000${w.idempotency.key}`)
      ? { kind: 'written' }
      : { kind: 'key_taken' },
  )
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

export async function getPayment(
  db: pg.Pool | pg.PoolClient,
  merchantId: string,
  id: string,
  forUpdate = false,
): Promise<Payment | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `select ${paymentColumns} from payments where id = $1 and merchant_id = $2${forUpdate ? ' for update' : ''}`,
    [id, merchantId],
  )
  return rows[0] ? rowToPayment(rows[0]) : undefined
}

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
  const { rows } = await pool.query<PaymentRow>(
    `select ${paymentColumns} from payments
     where merchant_id = $1 and ($2::text is null or (created_at, id) <
       (select created_at, id from payments where id = $2 and merchant_id = $1))
     order by created_at desc, id desc limit $3`,
    [merchantId, startingAfter ?? null, limit + 1],
  )
  return { payments: rows.slice(0, limit).map(rowToPayment), hasMore: rows.length > limit }
}

export async function getIdempotencyRecord(
  db: pg.Pool | pg.PoolClient,
  merchantId: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const { rows } = await db.query<{
    request_hash: string
    response_status: number
    response_body: string
  }>(
    'select request_hash, response_status, response_body from idempotency_keys where merchant_id = $1 and key = $2',
    [merchantId, key],
  )
  const row = rows[0]
  if (!row) return undefined
  return {
    state: 'completed',
    fingerprint: row.request_hash,
    status: row.response_status,
    body: row.response_body,
  }
}

export async function getRefunds(
  db: pg.Pool | pg.PoolClient,
  paymentId: string,
): Promise<Refund[]> {
  const { rows } = await db.query<PaymentRow>(
    `select ${refundColumns} from refunds where payment_id = $1 order by created_at, id`,
    [paymentId],
  )
  return rows.map(rowToRefund)
}

/** Write every mutable column of a payment the caller holds locked; the version must follow on. */
export async function savePayment(client: pg.PoolClient, p: Payment): Promise<void> {
  const result = await client.query(
    `update payments set status = $2, amount_captured = $3, amount_refunded = $4, amount_refund_pending = $5,
       pending_operation = $6, amount_capture_requested = $7, decline_code = $8, failure_message = $9,
       processor = $10, hlc = $11, version = $12, processor_ref = $13,
       authorized_at = to_timestamp($14 / 1000.0), updated_at = now(),
       seen_statuses = array(select distinct s from unnest(seen_statuses || $2::text) as s order by s)
     where id = $1 and version = $12 - 1`,
    [
      p.id,
      p.status,
      p.amountCaptured,
      p.amountRefunded,
      p.amountRefundPending,
      p.pendingOperation,
      p.amountCaptureRequested,
      p.declineCode,
      p.failureMessage,
      p.processor,
      p.hlc,
      p.version,
      p.processorRef,
      p.authorizedAtMs,
    ],
  )
  if (result.rowCount !== 1)
    throw new Error(`lost update on payment ${p.id} at version ${p.version}`)
}

export async function getPaymentById(
  client: pg.PoolClient | pg.Pool,
  id: string,
  forUpdate = false,
): Promise<Payment | undefined> {
  const { rows } = await client.query<PaymentRow>(
    `select ${paymentColumns} from payments where id = $1${forUpdate ? ' for update' : ''}`,
    [id],
  )
  return rows[0] ? rowToPayment(rows[0]) : undefined
}

/** A refund written as it is now, whole: inserted, or replaced by the version that won. */
export async function saveRefund(client: pg.PoolClient, r: Refund, hlc: string): Promise<void> {
  await client.query(
    `insert into refunds (id, payment_id, merchant_id, amount, currency, status, reason, metadata,
       failure_message, processor_ref, origin_region, hlc, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, to_timestamp($13 / 1000.0))
     on conflict (id) do update set payment_id = excluded.payment_id, amount = excluded.amount,
       reason = excluded.reason, metadata = excluded.metadata, status = excluded.status,
       failure_message = excluded.failure_message, processor_ref = excluded.processor_ref,
       origin_region = excluded.origin_region, hlc = excluded.hlc,
       created_at = excluded.created_at, updated_at = now()`,
    [
      r.id,
      r.paymentId,
      r.merchantId,
      r.amount,
      r.currency,
      r.status,
      r.reason,
      r.metadata,
      r.failureMessage,
      r.processorRef,
      r.originRegion,
      hlc,
      r.createdAtMs,
    ],
  )
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

export async function insertIdempotency(
  client: pg.PoolClient,
  merchantId: string,
  write: IdempotencyWrite,
  resourceId: string,
  originRegion: string,
  hlc = '',
): Promise<boolean> {
  const result = await client.query(
    `insert into idempotency_keys (merchant_id, key, request_hash, response_status, response_body, resource_id, origin_region, hlc)
     values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (merchant_id, key) do nothing`,
    [
      merchantId,
      write.key,
      write.fingerprint,
      write.status,
      write.body,
      resourceId,
      originRegion,
      hlc,
    ],
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
  },
  decide: (state: PaymentState) => Plan<MutationEffect>,
): Promise<MutationOutcome> {
  return inTransaction(pool, async (client) => {
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
