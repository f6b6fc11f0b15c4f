import { createHash } from 'node:crypto'
import type { PaymentState } from '@meridian/core'
import {
  assertBalanced,
  canReach,
  contradictions,
  type EventEnvelope,
  type IdempotencyReplica,
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
import type { Change } from '@meridian/regions/replication'
import type { Telemetry } from './telemetry.ts'

/**
 * One region's database, in memory, with the semantics of its SQL (regions/src/store,
 * replication/src/merge-store.ts) where they matter to money: a local write checks the
 * payment's version and refuses a ledger entry id already present; an operation or refund row
 * written again is replaced whole by the version written (`on conflict (id) do update set
 * payment_id, amount, …, status = excluded…`); the idempotency conflict row is overwritten by the latest disagreement; the
 * processor pin and attempt count are local columns outside the replicated snapshot. The merges
 * themselves are core's (mergePayment, mergeOperation, mergeRefund, mergeIdempotency,
 * settlePayment), applied batch by batch in the applier's order.
 */
export interface PaymentRow {
  payment: Payment
  seen: PaymentStatus[]
  /** processor_attempts: sends of the authorization claimed here (claimAttempt). */
  attempts: number
  updatedAtMs: number
}

interface ObjectRow<T> {
  value: T
  updatedAtMs: number
}

export interface IdempotencyConflict {
  readonly resources: readonly string[]
  readonly winner: string
}

export interface DuplicateRow {
  readonly paymentId: string
  readonly merchantId: string
  readonly key: string
  readonly kept: string
  settled: boolean
  action: string | null
  operationId: string | null
}

/** An event as the outbox holds it and replication ships it; `id` is what appliers dedupe by. */
export interface ModelEvent {
  readonly id: string
  readonly origin: string
  readonly envelope: EventEnvelope
}

interface ReplicatedPayload {
  readonly payment?: Payment
  readonly refund?: Refund
  readonly operation?: Operation
  readonly entries?: readonly JournalEntry[]
  readonly idempotency?: IdempotencyReplica
}

export class StoreError extends Error {
  override readonly name = 'StoreError'
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const byCreation = <T extends { createdAtMs: number; id: string }>(a: T, b: T) =>
  a.createdAtMs - b.createdAtMs || compareText(a.id, b.id)

export class RegionStore {
  readonly payments = new Map<string, PaymentRow>()
  readonly operations = new Map<string, ObjectRow<Operation>>()
  readonly refunds = new Map<string, ObjectRow<Refund>>()
  readonly entries = new Map<string, JournalEntry>()
  readonly idempotency = new Map<string, IdempotencyReplica>()
  /** replication_conflicts: `<kind>:<subject>` → detail (idempotency: IdempotencyConflict). */
  readonly conflicts = new Map<string, { kind: string; subject: string; detail: unknown }>()
  readonly duplicates = new Map<string, DuplicateRow>()
  /** replication_applied: (origin, event id) already merged here. */
  readonly applied = new Set<string>()
  /** Committed events the relay has not published yet. */
  readonly outbox: ModelEvent[] = []
  /** A status (payment, operation, refund) that moved off its state machine here (stays empty). */
  readonly offMachine: string[] = []
  /** Committed writes so far: quiescence is a stretch of time without any. */
  writes = 0
  /** Payments a merged operation or refund moved away from (one key, two payments): settle them too. */
  private readonly movedFrom: string[] = []
  private readonly byPayment = new Map<string, { ops: Set<string>; refunds: Set<string> }>()
  private eventSeq = 0

  constructor(
    readonly region: string,
    private readonly nowMs: () => number,
    private readonly committed: () => void,
    private readonly t: Telemetry,
  ) {}

  state(paymentId: string): PaymentState | undefined {
    const row = this.payments.get(paymentId)
    if (!row) return undefined
    const ids = this.byPayment.get(paymentId)
    const operations = [...(ids?.ops ?? [])]
      .map((id) => this.operations.get(id)?.value)
      .filter((o): o is Operation => o !== undefined)
      .sort(byCreation)
    const refunds = [...(ids?.refunds ?? [])]
      .map((id) => this.refunds.get(id)?.value)
      .filter((r): r is Refund => r !== undefined)
      .sort(byCreation)
    return { payment: row.payment, operations, refunds }
  }

  idempotencyKey(merchantId: string, key: string): string {
    return `${merchantId}/${key}`
  }

  // ---- local writes (the API's and the workers' transactions) ----

  /** insertPaymentBatch for one create: false when the key is taken (answer from the record). */
  insertCreate(payment: Payment, record: IdempotencyReplica, events: readonly EventEnvelope[]) {
    const k = this.idempotencyKey(record.merchantId, record.key)
    if (this.idempotency.has(k)) return false
    // The payment arrived by replication ahead of its create event (which carries the key's
    // record): the insert violates the payments primary key and the statement fails.
    if (this.payments.has(payment.id))
      throw new StoreError(`duplicate key value violates unique constraint "payments_pkey"`)
    this.idempotency.set(k, record)
    this.payments.set(payment.id, {
      payment,
      seen: [payment.status],
      attempts: 0,
      updatedAtMs: this.nowMs(),
    })
    this.enqueue(events)
    return true
  }

  /** mutatePayment's write: payment, operation or refund, events and the key's record. */
  applyMutation(effect: {
    payment: Payment
    operation?: Operation
    refund?: Refund
    events: readonly EventEnvelope[]
    record: IdempotencyReplica
  }): void {
    this.checkVersion(effect.payment)
    this.savePayment(effect.payment, 'api')
    if (effect.operation) this.saveOperation(effect.operation)
    if (effect.refund) this.saveRefund(effect.refund)
    this.enqueue(effect.events)
    this.idempotency.set(
      this.idempotencyKey(effect.record.merchantId, effect.record.key),
      effect.record,
    )
  }

  /** applyChange's write, all or nothing: payment, operation, refund, ledger, outbox. */
  applyChange(change: Change): void {
    this.checkVersion(change.payment)
    for (const e of change.entries) {
      assertBalanced(e)
      if (this.entries.has(e.id))
        throw new StoreError(`duplicate key value violates "journal_entries_pkey" (${e.id})`)
    }
    this.savePayment(change.payment, 'worker')
    if (change.operation) this.saveOperation(change.operation)
    if (change.refund) this.saveRefund(change.refund)
    for (const e of change.entries) this.entries.set(e.id, e)
    this.enqueue(change.events)
  }

  /** claimAttempt (regions/src/workflow/apply-change.ts): the attempt's number, or undefined. */
  claimAttempt(
    paymentId: string,
    processor: string,
    from: string | null = processor,
    attemptsSeen?: number,
  ): number | undefined {
    const row = this.pinnable(paymentId, from, attemptsSeen)
    if (!row) return undefined
    row.attempts += 1
    row.payment = { ...row.payment, processor }
    this.touched(row)
    return row.attempts
  }

  pinProcessor(
    paymentId: string,
    processor: string | null,
    from: string | null,
    attemptsSeen?: number,
  ): boolean {
    const row = this.pinnable(paymentId, from, attemptsSeen)
    if (!row) return false
    row.payment = { ...row.payment, processor }
    this.touched(row)
    return true
  }

  private pinnable(paymentId: string, from: string | null, attemptsSeen: number | undefined) {
    const row = this.payments.get(paymentId)
    if (row?.payment.status !== 'pending' || row.payment.processor !== from) return undefined
    if (attemptsSeen !== undefined && row.attempts !== attemptsSeen) return undefined
    return row
  }

  /** The reconciler's touch: a stuck payment goes to the back of its queue. */
  touch(paymentId: string): void {
    const row = this.payments.get(paymentId)
    if (row && (row.payment.status === 'pending' || row.payment.pendingOperation !== null))
      row.updatedAtMs = this.nowMs()
  }

  private touched(row: PaymentRow): void {
    row.updatedAtMs = this.nowMs()
    this.writes++
  }

  private checkVersion(p: Payment): void {
    const row = this.payments.get(p.id)
    if (!row || row.payment.version !== p.version - 1)
      throw new StoreError(`lost update on payment ${p.id} at version ${p.version}`)
  }

  /** savePayment: every mutable column, the status added to seen_statuses. */
  private savePayment(p: Payment, how: string): void {
    const row = this.payments.get(p.id)
    if (!row) throw new StoreError(`no payment ${p.id}`)
    const next: Payment = {
      ...row.payment,
      status: p.status,
      amountCaptured: p.amountCaptured,
      amountRefunded: p.amountRefunded,
      amountRefundPending: p.amountRefundPending,
      pendingOperation: p.pendingOperation,
      amountCaptureRequested: p.amountCaptureRequested,
      declineCode: p.declineCode,
      failureMessage: p.failureMessage,
      processor: p.processor,
      hlc: p.hlc,
      version: p.version,
      processorRef: p.processorRef,
      authorizedAtMs: p.authorizedAtMs,
    }
    this.setPayment(row, next, union(row.seen, [p.status]), how)
  }

  private setPayment(row: PaymentRow, next: Payment, seen: PaymentStatus[], how: string): void {
    const from = row.payment.status
    if (from !== next.status)
      this.t.trace(() => `${this.region} ${how}: ${next.id} ${from} → ${next.status}`)
    if (!canReach(from, next.status))
      this.offMachine.push(`${this.region} ${next.id}: ${from} → ${next.status} (${how})`)
    row.payment = next
    row.seen = seen
    this.touched(row)
  }

  /** saveOperation: inserted, or replaced whole by the version written (amount and payment too). */
  private saveOperation(op: Operation): void {
    const row = this.operations.get(op.id)
    if (row) {
      this.objectMoved(op.id, row.value.status, op.status)
      if (row.value.paymentId !== op.paymentId) {
        this.index(row.value.paymentId).ops.delete(op.id)
        this.index(op.paymentId).ops.add(op.id)
        this.movedFrom.push(row.value.paymentId)
      }
      row.value = op
      row.updatedAtMs = this.nowMs()
    } else {
      this.operations.set(op.id, { value: op, updatedAtMs: this.nowMs() })
      this.index(op.paymentId).ops.add(op.id)
    }
    this.writes++
  }

  /** saveRefund: inserted, or replaced whole by the version written (amount and payment too). */
  private saveRefund(r: Refund): void {
    const row = this.refunds.get(r.id)
    if (row) {
      this.objectMoved(r.id, row.value.status, r.status)
      if (row.value.paymentId !== r.paymentId) {
        this.index(row.value.paymentId).refunds.delete(r.id)
        this.index(r.paymentId).refunds.add(r.id)
        this.movedFrom.push(row.value.paymentId)
      }
      row.value = r
      row.updatedAtMs = this.nowMs()
    } else {
      this.refunds.set(r.id, { value: r, updatedAtMs: this.nowMs() })
      this.index(r.paymentId).refunds.add(r.id)
    }
    this.writes++
  }

  /**
   * An operation or refund moves along its lattice (mergeOperation, mergeRefund): pending →
   * failed → succeeded (a success the processor reports outranks a failure), never back.
   */
  private objectMoved(id: string, from: string, to: string): void {
    const rank: Record<string, number> = { pending: 0, failed: 1, succeeded: 2 }
    if ((rank[to] ?? 0) < (rank[from] ?? 0))
      this.offMachine.push(`${this.region} ${id}: ${from} → ${to}`)
  }

  private index(paymentId: string) {
    let ids = this.byPayment.get(paymentId)
    if (!ids) {
      ids = { ops: new Set(), refunds: new Set() }
      this.byPayment.set(paymentId, ids)
    }
    return ids
  }

  private enqueue(events: readonly EventEnvelope[]): void {
    this.t.trace(
      () =>
        `${this.region} commit: ${events.map((e) => `${e.type} ${describe(e.payload as ReplicatedPayload)}`).join(', ')}`,
    )
    for (const envelope of events)
      this.outbox.push({ id: `${this.region}#${this.eventSeq++}`, origin: this.region, envelope })
    this.writes++
    this.committed()
  }

  // ---- the applier (replication/src/merge-events.ts, merge-store.ts) ----

  /** Merge a batch of other regions' events: already-applied ones are skipped (deduped). */
  applyBatch(batch: readonly ModelEvent[]): void {
    const fresh = batch.filter((e) => {
      const k = `${e.origin}/${e.id}`
      if (this.applied.has(k)) return false
      this.applied.add(k)
      return true
    })
    if (fresh.length === 0) return
    this.t.trace(
      () =>
        `${this.region} merge: ${fresh.map((e) => `${e.envelope.type}@${e.origin}`).join(', ')}`,
    )
    const payments = new Map<string, PaymentReplica>()
    const records: IdempotencyReplica[] = []
    const entries: { entry: JournalEntry; origin: string }[] = []
    for (const { envelope } of fresh) {
      const p = envelope.payload as ReplicatedPayload
      if (p.payment) {
        const incoming = { payment: p.payment, seen: [p.payment.status] }
        const folded = payments.get(p.payment.id)
        payments.set(p.payment.id, folded ? mergePayment(folded, incoming) : incoming)
      }
      if (p.idempotency) records.push(p.idempotency)
      for (const entry of p.entries ?? []) entries.push({ entry, origin: envelope.origin_region })
    }
    this.mergePayments([...payments.values()])
    const refunds: Refund[] = []
    const operations: Operation[] = []
    for (const { envelope } of fresh) {
      const p = envelope.payload as ReplicatedPayload
      if (p.refund) refunds.push(p.refund)
      if (p.operation) operations.push(p.operation)
    }
    this.mergeObjects(refunds, this.refunds, mergeRefund, (r) => this.saveRefund(r))
    this.mergeObjects(operations, this.operations, mergeOperation, (o) => this.saveOperation(o))
    this.settleMerged([
      ...payments.keys(),
      ...refunds.map((r) => r.paymentId),
      ...operations.map((o) => o.paymentId),
      ...this.movedFrom.splice(0),
    ])
    for (const { entry } of entries) {
      assertBalanced(entry)
      if (!this.entries.has(entry.id)) {
        this.entries.set(entry.id, entry)
        this.writes++
      }
    }
    this.mergeIdempotencyRecords(records)
  }

  private mergePayments(incoming: readonly PaymentReplica[]): void {
    for (const replica of incoming) {
      const mine = this.payments.get(replica.payment.id)
      if (!mine) {
        this.payments.set(replica.payment.id, {
          payment: replica.payment,
          seen: [...replica.seen],
          attempts: 0,
          updatedAtMs: this.nowMs(),
        })
        this.writes++
        continue
      }
      const mergedRaw = mergePayment({ payment: mine.payment, seen: mine.seen }, replica)
      // merge-store.ts keepLocalPin: a pending payment's pin is this region's own bookkeeping.
      const merged =
        mergedRaw.payment.status === 'pending' &&
        mergedRaw.payment.processor !== mine.payment.processor
          ? { ...mergedRaw, payment: { ...mergedRaw.payment, processor: mine.payment.processor } }
          : mergedRaw
      if (merged.payment !== mine.payment || merged.seen.length !== mine.seen.length) {
        // updatePayment: the identity columns must agree, or the update finds no row.
        if (
          merged.payment.merchantId !== mine.payment.merchantId ||
          merged.payment.amount !== mine.payment.amount
        )
          throw new StoreError(
            `replicated snapshot of ${merged.payment.id} disagrees with the local payment's identity`,
          )
        this.setPayment(mine, merged.payment, [...merged.seen], 'merge')
      }
      const found = contradictions(merged.seen)
      if (found.length > 0)
        this.flag('payment_status', replica.payment.id, {
          seen: merged.seen,
          contradictions: found,
        })
    }
  }

  private mergeObjects<T extends { readonly id: string }>(
    incoming: readonly T[],
    table: Map<string, ObjectRow<T>>,
    merge: (a: T, b: T) => T,
    save: (x: T) => void,
  ): void {
    const held = new Map<string, T>()
    for (const x of incoming) {
      const local = held.get(x.id) ?? table.get(x.id)?.value
      const merged = local ? merge(local, x) : x
      if (merged === local) continue
      save(merged)
      held.set(x.id, merged)
    }
  }

  /** settleMerged: derived fields from the sets held here; version and clock unchanged. */
  private settleMerged(paymentIds: readonly string[]): void {
    for (const id of [...new Set(paymentIds)].sort()) {
      const s = this.state(id)
      const row = this.payments.get(id)
      if (!s || !row) continue
      const settled = settlePayment(s.payment, s.operations, s.refunds)
      if (settled === s.payment) continue
      this.setPayment(
        row,
        {
          ...row.payment,
          status: settled.status,
          amountRefunded: settled.amountRefunded,
          amountRefundPending: settled.amountRefundPending,
          pendingOperation: settled.pendingOperation,
          amountCaptureRequested: settled.amountCaptureRequested,
        },
        row.seen,
        'settle',
      )
    }
  }

  private flag(kind: string, subject: string, detail: unknown): void {
    this.conflicts.set(`${kind}:${subject}`, { kind, subject, detail })
    this.writes++
  }

  /** mergeIdempotencyRecords: the earliest record wins; a disagreement overwrites the flag. */
  private mergeIdempotencyRecords(records: readonly IdempotencyReplica[]): void {
    const folded = new Map<
      string,
      { record: IdempotencyReplica; conflict: boolean; resources: Set<string> }
    >()
    for (const r of records) {
      const k = this.idempotencyKey(r.merchantId, r.key)
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
    for (const [k, inBatch] of folded) {
      const remote = inBatch.record
      const mine = this.idempotency.get(k)
      if (!mine) {
        this.idempotency.set(k, remote)
        this.writes++
        if (inBatch.conflict)
          this.flag('idempotency', k, {
            resources: [...inBatch.resources].sort(),
            winner: remote.resourceId,
          } satisfies IdempotencyConflict)
        continue
      }
      const merged = mergeIdempotency(mine, remote)
      if (merged.winner !== mine) {
        this.idempotency.set(k, merged.winner)
        this.writes++
      }
      if (merged.conflict || inBatch.conflict) {
        const resources = new Set([mine.resourceId, ...inBatch.resources])
        this.flag('idempotency', k, {
          resources: [...resources].sort(),
          winner: merged.winner.resourceId,
        } satisfies IdempotencyConflict)
      }
    }
  }

  // ---- what the checks read ----

  /** The lines replication/src/digest.ts hashes (usage counters and configuration aside). */
  digestLines(): Record<string, string[]> {
    const sorted = (xs: string[]) => xs.sort(compareText)
    const payments = [...this.payments.values()].map(({ payment: p, seen }) =>
      [
        p.id,
        p.merchantId,
        p.amount,
        p.currency,
        p.status,
        p.captureMethod,
        p.amountCaptured,
        p.amountRefunded,
        p.amountRefundPending,
        p.pendingOperation,
        p.amountCaptureRequested,
        p.declineCode,
        p.failureMessage,
        p.status === 'pending' ? null : p.processor,
        p.status === 'pending' ? null : p.processorRef,
        p.hlc,
        p.version,
        [...seen].sort().join(','),
      ].join('|'),
    )
    const refunds = [...this.refunds.values()].map(({ value: r }) =>
      [r.id, r.paymentId, r.amount, r.currency, r.status, r.failureMessage].join('|'),
    )
    const operations = [...this.operations.values()].map(({ value: o }) =>
      [
        o.id,
        o.paymentId,
        o.kind,
        o.amount,
        o.currency,
        o.reason,
        o.status,
        o.failureCode,
        o.failureMessage,
      ].join('|'),
    )
    const ledger = [...this.entries.values()].map((e) =>
      [
        e.id,
        e.paymentId,
        e.kind,
        e.postings
          .map((p) => `${p.account}:${p.amount}:${p.currency}`)
          .sort()
          .join(','),
      ].join('|'),
    )
    const idempotency = [...this.idempotency.values()].map((r) =>
      [
        r.merchantId,
        r.key,
        r.fingerprint,
        r.status,
        createHash('md5').update(r.body).digest('hex'),
        r.resourceId,
        r.originRegion,
        r.hlc,
      ].join('|'),
    )
    const conflicts = [...this.conflicts.values()].map((c) => `${c.kind}|${c.subject}`)
    return {
      payments: sorted(payments),
      refunds: sorted(refunds),
      operations: sorted(operations),
      ledger: sorted(ledger),
      idempotency: sorted(idempotency),
      conflicts: sorted(conflicts),
    }
  }

  digest(): string {
    return createHash('sha256').update(JSON.stringify(this.digestLines())).digest('hex')
  }
}

function describe(p: ReplicatedPayload): string {
  const what = p.operation
    ? `${p.operation.kind} ${p.operation.id} ${p.operation.amount} ${p.operation.status}`
    : p.refund
      ? `refund ${p.refund.id} ${p.refund.amount} ${p.refund.status}`
      : ''
  return `${p.payment?.id ?? ''} ${p.payment?.status ?? ''}${p.payment?.processor ? `@${p.payment.processor}` : ''} ${what}`.trim()
}

function union<T extends string>(a: readonly T[], b: readonly T[]): T[] {
  return [...new Set([...a, ...b])].sort(compareText)
}
