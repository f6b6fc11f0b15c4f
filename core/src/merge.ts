import { canonicalJson } from './idempotency.ts'
import { canReach, type PaymentStatus, paymentStatuses } from './payment-status.ts'
import type { Payment, Refund } from './payments.ts'

/**
 * Conflict resolution for active-active regions: every rule here is a join of a semilattice
 * (commutative, associative, idempotent), so regions that have seen the same updates hold the same
 * state whatever the order, duplication or grouping in which the updates arrived. Never "last
 * write wins" on money: statuses only move forward, amounts only grow, ledger entries only add up,
 * and contradictions are kept and flagged for the reconciler instead of being silently resolved.
 */

/** How far along the state machine a status is; merges never lower it. */
export const statusRank: Readonly<Record<PaymentStatus, number>> = {
  pending: 0,
  authorized: 1,
  declined: 1,
  failed: 1,
  captured: 2,
  canceled: 2,
  expired: 2,
  partially_refunded: 3,
  refunded: 4,
}

/**
 * Between two statuses of equal rank that contradict each other (one region captured, another
 * canceled), the one that moved money is kept, so the ledger's truth is never hidden: the
 * reconciler then settles the contradiction with the processor.
 */
const moneyFirst: readonly PaymentStatus[] = [
  'refunded',
  'partially_refunded',
  'captured',
  'expired',
  'canceled',
  'authorized',
  'failed',
  'declined',
  'pending',
]

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Fields every region derives from the payment's operations and refunds (settlePayment in
 * operations.ts) rather than taking from a snapshot; the order below ignores them, so a region
 * that has derived more cannot make an older snapshot win, and all regions pick the same one.
 */
export function withoutDerived(p: Payment): Payment {
  const family =
    p.status === 'partially_refunded' || p.status === 'refunded' ? 'captured' : p.status
  return {
    ...p,
    status: family,
    amountRefunded: 0,
    amountRefundPending: 0,
    pendingOperation: null,
    amountCaptureRequested: 0,
  }
}

/** A total order on snapshots of one payment, derived fields aside: the merge keeps the greater. */
export function comparePaymentProgress(x: Payment, y: Payment): number {
  const a = withoutDerived(x)
  const b = withoutDerived(y)
  return (
    statusRank[a.status] - statusRank[b.status] ||
    moneyFirst.indexOf(b.status) - moneyFirst.indexOf(a.status) ||
    a.amountCaptured - b.amountCaptured ||
    a.version - b.version ||
    compareText(a.hlc, b.hlc) ||
    compareText(withoutCreation(a), withoutCreation(b))
  )
}

/** Where and when the payment was created are merged on their own (below): the order ignores them. */
const withoutCreation = (p: Payment) => canonicalJson({ ...p, originRegion: '', createdAtMs: 0 })

/**
 * Two snapshots equal in progress (one region's settled row and the snapshot it came from)
 * still pick one deterministically, by what is left once the joined fields (refunded amount,
 * status within the captured family) and the creation are set aside.
 */
const tieKey = (p: Payment) =>
  withoutCreation({ ...p, amountRefunded: 0, status: withoutDerived(p).status })

/** A payment as replicated: the winning snapshot plus every status any region has recorded. */
export interface PaymentReplica {
  readonly payment: Payment
  /** Sorted, unique: a grow-only set, so contradictions are never forgotten. */
  readonly seen: readonly PaymentStatus[]
}

function union<T extends string>(a: readonly T[], b: readonly T[]): T[] {
  return [...new Set([...a, ...b])].sort(compareText)
}

/**
 * The winning snapshot, whole, with the union of statuses seen. Its derived fields are the
 * winner's own until the caller settles them against the operations and refunds it holds.
 */
export function mergePayment(a: PaymentReplica, b: PaymentReplica): PaymentReplica {
  if (a.payment.id !== b.payment.id)
    throw new Error(`cannot merge ${a.payment.id} with ${b.payment.id}`)
  const order =
    comparePaymentProgress(a.payment, b.payment) ||
    compareText(tieKey(a.payment), tieKey(b.payment))
  const winner = order >= 0 ? a.payment : b.payment
  // One payment id created in two regions (a retry of one request served by a region before
  // the original's replica arrived: ids derive from the request) has two origins and two
  // creation times: every region keeps the smaller of each, so each counts the payment once, in
  // the same usage slot.
  const originRegion =
    compareText(a.payment.originRegion, b.payment.originRegion) <= 0
      ? a.payment.originRegion
      : b.payment.originRegion
  const createdAtMs = Math.min(a.payment.createdAtMs, b.payment.createdAtMs)
  const seen = union(a.seen, b.seen)
  // Derived amounts and statuses only grow: the larger refunded amount, and within the captured
  // family the furthest status any snapshot recorded (both joins, so the merge stays one).
  const amountRefunded = Math.max(a.payment.amountRefunded, b.payment.amountRefunded)
  const status = furthestCaptured(winner.status, [...seen, a.payment.status, b.payment.status])
  const payment =
    winner.originRegion === originRegion &&
    winner.createdAtMs === createdAtMs &&
    winner.amountRefunded === amountRefunded &&
    winner.status === status
      ? winner
      : { ...winner, originRegion, createdAtMs, amountRefunded, status }
  return { payment, seen }
}

const capturedLine: readonly PaymentStatus[] = ['captured', 'partially_refunded', 'refunded']

function furthestCaptured(status: PaymentStatus, seen: readonly PaymentStatus[]): PaymentStatus {
  if (!capturedLine.includes(status)) return status
  return capturedLine.filter((s) => s === status || seen.includes(s)).at(-1) ?? status
}

/** Pairs of recorded statuses neither of which can lead to the other: a real contradiction. */
export function contradictions(seen: readonly PaymentStatus[]): [PaymentStatus, PaymentStatus][] {
  const out: [PaymentStatus, PaymentStatus][] = []
  for (const [i, a] of seen.entries()) {
    for (const b of seen.slice(i + 1)) {
      if (!canReach(a, b) && !canReach(b, a)) out.push([a, b])
    }
  }
  return out
}

const refundRank = { pending: 0, failed: 1, succeeded: 2 } as const

/** Refunds: pending → succeeded | failed; succeeded outranks failed (the money moved). */
export function mergeRefund(a: Refund, b: Refund): Refund {
  if (a.id !== b.id) throw new Error(`cannot merge ${a.id} with ${b.id}`)
  const byStatus = refundRank[a.status] - refundRank[b.status]
  if (byStatus !== 0) return byStatus > 0 ? a : b
  return compareText(canonicalJson(a), canonicalJson(b)) >= 0 ? a : b
}

/** A stored idempotent response as replicated. */
export interface IdempotencyReplica {
  readonly merchantId: string
  readonly key: string
  readonly fingerprint: string
  readonly status: number
  readonly body: string
  readonly resourceId: string
  readonly originRegion: string
  /** When the first region recorded it (HLC text): the earliest record wins a conflict. */
  readonly hlc: string
}

export interface IdempotencyMerge {
  readonly winner: IdempotencyReplica
  /** Two different requests (or one request accepted twice) under one key: flag it. */
  readonly conflict: boolean
}

export function mergeIdempotency(a: IdempotencyReplica, b: IdempotencyReplica): IdempotencyMerge {
  const order =
    compareText(a.hlc, b.hlc) ||
    compareText(a.originRegion, b.originRegion) ||
    compareText(a.resourceId, b.resourceId) ||
    compareText(a.fingerprint, b.fingerprint) ||
    compareText(a.body, b.body)
  const winner = order <= 0 ? a : b
  const conflict = a.fingerprint !== b.fingerprint || a.resourceId !== b.resourceId
  return { winner, conflict }
}

/** A grow-only counter: one slot per region, merged by max, read as the sum. */
export type GCounter = Readonly<Record<string, number>>

export function mergeCounter(a: GCounter, b: GCounter): GCounter {
  const out: Record<string, number> = { ...a }
  for (const [region, n] of Object.entries(b)) out[region] = Math.max(out[region] ?? 0, n)
  return out
}

export function incrementCounter(c: GCounter, region: string, by = 1): GCounter {
  return { ...c, [region]: (c[region] ?? 0) + by }
}

export function counterValue(c: GCounter): number {
  return Object.values(c).reduce((s, n) => s + n, 0)
}

/** Ledger entries: a grow-only set keyed by entry id (ids are content-addressed, see ledger.ts). */
export function mergeEntrySets<T extends { readonly id: string }>(
  a: readonly T[],
  b: readonly T[],
): T[] {
  const byId = new Map<string, T>()
  for (const e of [...a, ...b]) {
    const seen = byId.get(e.id)
    // Content-addressed ids make this a no-op; should two ever differ, pick one deterministically.
    if (!seen || compareText(canonicalJson(e), canonicalJson(seen)) > 0) byId.set(e.id, e)
  }
  return [...byId.values()].sort((x, y) => compareText(x.id, y.id))
}

export { paymentStatuses }
