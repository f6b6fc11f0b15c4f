import {
  type EntryKind,
  type IdempotencyReplica,
  invariant,
  isPaymentStatus,
  type JournalEntry,
  type Operation,
  type OperationKind,
  type OperationStatus,
  type Payment,
  type PaymentStatus,
  type PendingOperation,
  type Placement,
  type Posting,
  type Refund,
  type RefundStatus,
  type Residency,
  residencySchema,
} from '@meridian/core'
import {
  bigint,
  currency,
  integer,
  isoDate,
  jsonObject,
  jsonText,
  type Kind,
  money,
  optionalText,
  optionalTimeMs,
  text,
  textList,
  textOf,
  timeMs,
} from './rows.ts'
import { column, defineTable } from './table.ts'

/**
 * The column map of every table the region store and the replication merge both write, and the
 * state digest hashes: one declaration per column (SQL name, domain field, how it is read and
 * written, how it takes part in writes and the digest). regions/src/store, replication's
 * merge-store and digest take their column lists from here, never from a list of their own;
 * test/src/replication/column-maps.test.ts holds each map against the migrated schema.
 *
 * A map's order is the order rows are read into domain values, and the order of the digest's
 * fields: reordering a map changes every region's digest (harmless once all regions run it, but
 * regions on two versions would then disagree).
 */

function paymentStatusOf(value: unknown): PaymentStatus {
  const status = String(value)
  invariant(isPaymentStatus(status), `unknown status in database: ${status}`)
  return status
}

const paymentStatus = textOf(paymentStatusOf)

/** Any other capture method reads as automatic (the column's check allows only these two). */
const captureMethod = textOf((value) => (value === 'manual' ? 'manual' : 'automatic'))

const pendingOperation = textOf<PendingOperation>((value) => {
  invariant(value === null || value === 'capture' || value === 'cancel', 'bad pending_operation')
  return value
}, true)

function settledStatusOf(what: string) {
  return textOf((value): RefundStatus & OperationStatus => {
    const status = String(value)
    invariant(
      status === 'pending' || status === 'succeeded' || status === 'failed',
      `bad ${what} status ${status}`,
    )
    return status
  })
}

const operationKind = textOf((value): OperationKind => {
  const kind = String(value)
  invariant(kind === 'capture' || kind === 'cancel', `bad operation kind ${kind}`)
  return kind
})

const entryKind = textOf((value): EntryKind => {
  const kind = String(value)
  invariant(
    kind === 'hold' || kind === 'capture' || kind === 'release' || kind === 'refund',
    `bad journal entry kind ${kind}`,
  )
  return kind
})

/** The statuses a payment was ever seen in (a grow-only set, sorted). */
export interface SeenStatuses {
  readonly seen: readonly PaymentStatus[]
}

/** Written with a refund or operation: the clock of the payment change that wrote it. */
export interface WriteClock {
  readonly hlc: string
}

export const payments = defineTable<Payment, SeenStatuses>({
  name: 'payments',
  columns: {
    id: column('id', text, { key: true }),
    merchantId: column('merchant_id', text, { changes: 'never' }),
    amount: column('amount', money, { changes: 'never' }),
    currency: column('currency', currency, { changes: 'never' }),
    status: column('status', paymentStatus, { settled: true }),
    captureMethod: column('capture_method', captureMethod, { changes: 'never' }),
    amountCaptured: column('amount_captured', money, { createdEmpty: true }),
    amountRefunded: column('amount_refunded', money, { createdEmpty: true, settled: true }),
    amountRefundPending: column('amount_refund_pending', money, {
      createdEmpty: true,
      settled: true,
    }),
    pendingOperation: column('pending_operation', pendingOperation, {
      createdEmpty: true,
      settled: true,
    }),
    amountCaptureRequested: column('amount_capture_requested', money, {
      createdEmpty: true,
      settled: true,
    }),
    paymentMethod: column('payment_method', jsonObject<Payment['paymentMethod']>(), {
      changes: 'never',
      digest: false,
    }),
    description: column('description', optionalText, { changes: 'never', digest: false }),
    metadata: column('metadata', jsonObject<Payment['metadata']>(), {
      changes: 'never',
      digest: false,
    }),
    declineCode: column('decline_code', optionalText),
    failureMessage: column('failure_message', optionalText),
    // Which processor a still-pending payment is pinned to is this region's own bookkeeping.
    processor: column('processor', optionalText, {
      createdEmpty: true,
      digest: `case when status = 'pending' then null else processor end`,
    }),
    processorRef: column('processor_ref', optionalText, {
      createdEmpty: true,
      digest: `case when status = 'pending' then null else processor_ref end`,
    }),
    authorizedAtMs: column('authorized_at', optionalTimeMs, { createdEmpty: true, digest: false }),
    // A payment created in two regions has two origins and creation times until a merge keeps
    // the smaller of each.
    originRegion: column('origin_region', text, { changes: 'merge', digest: false }),
    createdAtMs: column('created_at', timeMs, { changes: 'merge', digest: false }),
    hlc: column('hlc', text),
    version: column('version', integer, { createdEmpty: true }),
  },
  extra: {
    seen: column(
      'seen_statuses',
      textList((value) => value as PaymentStatus[]),
      { digest: `array_to_string(seen_statuses, ',')` },
    ),
  },
  local: {
    updated_at: 'when this region last wrote the row (the reconciler finds stuck payments by it)',
    processor_attempts: 'sends to the pinned processor from this region (migration 0006)',
  },
})

export const refunds = defineTable<Refund, WriteClock>({
  name: 'refunds',
  columns: {
    id: column('id', text, { key: true }),
    paymentId: column('payment_id', text),
    merchantId: column('merchant_id', text, { changes: 'never', digest: false }),
    amount: column('amount', money),
    currency: column('currency', currency, { changes: 'never' }),
    status: column('status', settledStatusOf('refund')),
    reason: column('reason', optionalText, { digest: false }),
    metadata: column('metadata', jsonObject<Refund['metadata']>(), { digest: false }),
    failureMessage: column('failure_message', optionalText),
    processorRef: column('processor_ref', optionalText, { digest: false }),
    originRegion: column('origin_region', text, { digest: false }),
    createdAtMs: column('created_at', timeMs, { digest: false }),
  },
  extra: { hlc: column('hlc', text, { digest: false }) },
  local: {
    updated_at: 'when this region last wrote the row (the reconciler finds stuck refunds by it)',
  },
})

export const paymentOperations = defineTable<Operation, WriteClock>({
  name: 'payment_operations',
  columns: {
    id: column('id', text, { key: true }),
    paymentId: column('payment_id', text),
    merchantId: column('merchant_id', text, { changes: 'never', digest: false }),
    kind: column('kind', operationKind),
    amount: column('amount', money),
    currency: column('currency', currency, { changes: 'never' }),
    reason: column('reason', optionalText),
    status: column('status', settledStatusOf('operation')),
    failureCode: column('failure_code', optionalText),
    failureMessage: column('failure_message', optionalText),
    originRegion: column('origin_region', text, { digest: false }),
    createdAtMs: column('created_at', timeMs, { digest: false }),
  },
  extra: { hlc: column('hlc', text, { digest: false }) },
  local: {
    updated_at: 'when this region last wrote the row (the reconciler finds stuck operations by it)',
  },
})

export const idempotencyKeys = defineTable<IdempotencyReplica>({
  name: 'idempotency_keys',
  columns: {
    merchantId: column('merchant_id', text, { key: true }),
    key: column('key', text, { key: true }),
    fingerprint: column('request_hash', text),
    status: column('response_status', integer),
    // Hashed, not whole: replays must return it byte for byte, but the digest needs only to know.
    body: column('response_body', text, { digest: 'md5(response_body)' }),
    // Null in records written before resource ids were kept; read as ''.
    resourceId: column(
      'resource_id',
      textOf((value) => (value === null ? '' : String(value)), true),
    ),
    originRegion: column('origin_region', text),
    hlc: column('hlc', text),
  },
  local: { created_at: 'when this region stored the record' },
})

export const journalEntries = defineTable<Omit<JournalEntry, 'postings'>, { originRegion: string }>(
  {
    name: 'journal_entries',
    columns: {
      id: column('id', text, { key: true }),
      paymentId: column('payment_id', text, { changes: 'never' }),
      merchantId: column('merchant_id', text, { changes: 'never', digest: false }),
      kind: column('kind', entryKind, { changes: 'never' }),
    },
    extra: { originRegion: column('origin_region', text, { changes: 'never', digest: false }) },
    local: {
      tx_id: 'the transaction that wrote the entry (postings may only join it there)',
      created_at: 'when this region stored the entry',
    },
  },
)

export const postings = defineTable<Posting, { entryId: string }>({
  name: 'postings',
  columns: {
    account: column('account', text, { changes: 'never' }),
    amount: column('amount', money, { changes: 'never' }),
    currency: column('currency', currency, { changes: 'never' }),
  },
  // The digest hashes postings inside their entry's line, not by entry id.
  extra: { entryId: column('entry_id', text, { changes: 'never', digest: false }) },
  local: { id: "this region's serial number for the posting" },
})

/** One region's slot of a merchant's daily usage counter (a grow-only counter per slot). */
export interface UsageSlot {
  readonly merchantId: string
  /** `YYYY-MM-DD`, UTC. */
  readonly day: string
  readonly region: string
  readonly count: number
}

export const usageCounters = defineTable<UsageSlot>({
  name: 'usage_counters',
  columns: {
    merchantId: column('merchant_id', text, { key: true }),
    day: column('day', isoDate, { key: true }),
    region: column('region', text, { key: true }),
    count: column('count', bigint),
  },
  local: {},
})

/** The UTC day (SQL) of a creation time given as epoch milliseconds (SQL): its usage slot. */
export function usageDayOf(createdMs: string): string {
  return `(${timeMs.store?.(createdMs) ?? createdMs} at time zone 'UTC')::date`
}

/** A contradiction a merge found (reconcilers and operators act on them). */
export interface ReplicationConflict {
  readonly kind: 'payment_status' | 'idempotency' | 'ledger_entry'
  readonly subject: string
  readonly detail: unknown
}

export const replicationConflicts = defineTable<ReplicationConflict>({
  name: 'replication_conflicts',
  columns: {
    kind: column(
      'kind',
      textOf((value): ReplicationConflict['kind'] => {
        invariant(
          value === 'payment_status' || value === 'idempotency' || value === 'ledger_entry',
          `bad conflict kind ${String(value)}`,
        )
        return value
      }),
      { key: true },
    ),
    subject: column('subject', text, { key: true }),
    // What this region saw when it found the contradiction: it differs from region to region.
    detail: column('detail', jsonText, { digest: false }),
  },
  local: { detected_at: 'when this region found the contradiction' },
})

const residency = textOf((value): Residency => residencySchema.parse(value))
const regionList: Kind<string[]> = {
  ...textList((value) => value as string[]),
  read: (value) => [...(value as string[])],
  write: (value) => [...value],
}

/**
 * A merchant's placement as this region holds it: written by the control plane's internal API and
 * by replication's merge (a join, core joinPlacements), read inside every write's transaction.
 */
export const merchantPlacements = defineTable<Placement, { fencedEpoch: number }>({
  name: 'merchant_placements',
  columns: {
    merchantId: column('merchant_id', text, { key: true }),
    home: column('home', text),
    failover: column('failover', regionList, { digest: `array_to_string(failover, ',')` }),
    residency: column('residency', residency),
    epoch: column('epoch', integer),
    processingHome: column('processing_home', text),
  },
  // Merged as a maximum, so it converges too; still each region's own until the markers arrive.
  extra: { fencedEpoch: column('fenced_epoch', integer, { digest: false }) },
  local: {
    fence_marker: "the marker event this region wrote for its latest fence (this region's own)",
    updated_at: 'when this region last wrote the row',
  },
})

/** Every map, for the drift test and the digest. */
export const tables = {
  payments,
  refunds,
  paymentOperations,
  idempotencyKeys,
  journalEntries,
  postings,
  usageCounters,
  replicationConflicts,
  merchantPlacements,
}

/**
 * The schema's tables that have no map, and why: each is one region's own bookkeeping, written and
 * read by one module in its own statements, never replicated field by field nor digested.
 */
export const unmappedTables: Readonly<Record<string, string>> = {
  account_balances: 'maintained by a trigger from postings; pnpm ledger:check recomputes it',
  duplicate_payments: "this region's record of duplicates it compensates (local bookkeeping)",
  merchant_configs: 'Automerge documents, merged whole; the digest hashes their summary',
  outbox: "this region's events waiting for the relay",
  replication_applied: 'which events this region has applied (effectively once)',
  replication_links: "this region's view of each link's lag",
  replication_positions: "this region's offsets in the replicated topics",
  schema_migrations: 'which migrations ran here',
  webhook_dead_letters: "this region's failed webhook deliveries",
  webhook_deliveries: "this region's webhook delivery attempts",
  webhook_endpoints: 'materialized from the merchant configuration documents',
}
