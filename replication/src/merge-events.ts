import {
  type EventEnvelope,
  type IdempotencyReplica,
  invariant,
  type JournalEntry,
  mergePayment,
  type Operation,
  type Payment,
  type PaymentReplica,
  placementSchema,
  type Refund,
} from '@meridian/core'
import { applyConfigChanges, joinPlacement } from '@meridian/regions/replication'
import type pg from 'pg'
import {
  mergeEntries,
  mergeIdempotencyRecords,
  mergeOperations,
  mergePayments,
  mergeRefunds,
  settleMerged,
} from './merge-store.ts'

interface ReplicatedPayload {
  readonly payment?: Payment
  readonly refund?: Refund
  readonly operation?: Operation
  readonly entries?: readonly JournalEntry[]
  readonly idempotency?: IdempotencyReplica
  readonly changes?: readonly string[]
  readonly placement?: unknown
  readonly fencedEpoch?: unknown
}

/** A placement event's placement and fence, or undefined when it carries none this can trust. */
function placementOf(p: ReplicatedPayload) {
  const placement = placementSchema.safeParse(p.placement)
  if (!placement.success) return undefined
  const fenced = p.fencedEpoch
  const fencedEpoch = typeof fenced === 'number' && Number.isSafeInteger(fenced) ? fenced : 0
  return { placement: placement.data, fencedEpoch: Math.max(0, fencedEpoch) }
}

/**
 * Merge a batch of other regions' events into this region (inside the applier's transaction).
 * The merge rules are joins, so the batch is first folded in memory (one snapshot per payment,
 * one record per key) and then merged with what this region holds: the same result as applying
 * the events one by one, in any order, with far fewer queries.
 */
export async function applyEvents(
  client: pg.PoolClient,
  events: readonly EventEnvelope[],
): Promise<void> {
  const payments = new Map<string, PaymentReplica>()
  const idempotency: IdempotencyReplica[] = []
  const entries: { entry: JournalEntry; origin: string }[] = []
  for (const event of events) {
    const p = event.payload as ReplicatedPayload
    if (p.payment) {
      const incoming = { payment: p.payment, seen: [p.payment.status] }
      const folded = payments.get(p.payment.id)
      payments.set(p.payment.id, folded ? mergePayment(folded, incoming) : incoming)
    }
    if (p.idempotency) idempotency.push(p.idempotency)
    for (const entry of p.entries ?? []) entries.push({ entry, origin: event.origin_region })
  }
  const merged = await mergePayments(client, [...payments.values()])
  const refunds: { refund: Refund; hlc: string }[] = []
  const operations: { operation: Operation; hlc: string }[] = []
  for (const event of events) {
    const p = event.payload as ReplicatedPayload
    if (p.refund) refunds.push({ refund: p.refund, hlc: event.hlc })
    if (p.operation) operations.push({ operation: p.operation, hlc: event.hlc })
    if (event.type === 'merchant.config_changed' && p.changes)
      await applyConfigChanges(client, event.merchant_id, p.changes)
    if (event.type === 'merchant.placement_changed') {
      // A join (higher epoch wins, fence a maximum): any order of arrival ends in the same row.
      const changed = placementOf(p)
      invariant(
        changed !== undefined && changed.placement.merchantId === event.merchant_id,
        `placement event ${event.id} carries no placement of ${event.merchant_id}`,
      )
      await joinPlacement(client, changed.placement, changed.fencedEpoch)
    }
  }
  const movedFrom = [
    ...(await mergeRefunds(client, refunds)),
    ...(await mergeOperations(client, operations)),
  ]
  await settleMerged(client, merged, [
    ...refunds.map((r) => r.refund.paymentId),
    ...operations.map((o) => o.operation.paymentId),
    ...movedFrom,
  ])
  for (const origin of new Set(entries.map((e) => e.origin))) {
    await mergeEntries(
      client,
      entries.filter((e) => e.origin === origin).map((e) => e.entry),
      origin,
    )
  }
  await mergeIdempotencyRecords(client, idempotency)
}
