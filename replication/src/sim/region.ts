import { createHash } from 'node:crypto'
import type { Doc } from '@automerge/automerge'
import {
  assertBalanced,
  canonicalJson,
  contradictions,
  type GCounter,
  type IdempotencyReplica,
  type JournalEntry,
  mergeIdempotency,
  mergeOperation,
  mergePayment,
  mergeRefund,
  type Operation,
  type PaymentReplica,
  type Refund,
  settlePayment,
  statusRank,
} from '@meridian/core'
import {
  applyToDoc,
  docContent,
  loadConfig,
  type MerchantConfig,
} from '@meridian/regions/replication'

/** What travels between simulated regions: the same payload shape the real events carry. */
export interface SimEvent {
  readonly id: string
  readonly origin: string
  readonly merchantId: string
  readonly payment?: PaymentReplica['payment']
  readonly refund?: Refund
  readonly operation?: Operation
  readonly entries?: readonly JournalEntry[]
  readonly idempotency?: IdempotencyReplica
  readonly changes?: readonly string[]
}

/**
 * One simulated region's replicated state, merged with exactly the rules the applier uses
 * (core/merge.ts, Automerge for configuration). The dedupe set models replication_applied.
 */
export class SimRegion {
  readonly payments = new Map<string, PaymentReplica>()
  readonly refunds = new Map<string, Refund>()
  readonly operations = new Map<string, Operation>()
  readonly entries = new Map<string, JournalEntry>()
  readonly idempotency = new Map<string, IdempotencyReplica>()
  readonly conflicts = new Set<string>()
  readonly counters = new Map<string, GCounter>()
  readonly configs = new Map<string, Doc<MerchantConfig>>()
  /** Configuration changes waiting for the changes they depend on (as in merchant_configs). */
  readonly pendingChanges = new Map<string, string[]>()
  readonly applied = new Set<string>()
  /** Statuses that went backwards at this region: must stay empty. */
  readonly regressions: string[] = []

  constructor(
    readonly id: string,
    /** The payment merge under test; replaceable so a test can prove a wrong rule is caught. */
    private readonly merge: (a: PaymentReplica, b: PaymentReplica) => PaymentReplica = mergePayment,
  ) {}

  /** Apply an event; `dedupe` false models a crash that lost the dedupe record (a re-apply). */
  apply(e: SimEvent, dedupe = true): void {
    if (dedupe && this.applied.has(e.id)) return
    this.applied.add(e.id)
    if (e.payment) this.mergePayment({ payment: e.payment, seen: [e.payment.status] })
    if (e.refund) {
      const local = this.refunds.get(e.refund.id)
      this.refunds.set(e.refund.id, local ? mergeRefund(local, e.refund) : e.refund)
    }
    if (e.operation) {
      const local = this.operations.get(e.operation.id)
      this.operations.set(e.operation.id, local ? mergeOperation(local, e.operation) : e.operation)
    }
    for (const id of new Set([e.payment?.id, e.refund?.paymentId, e.operation?.paymentId]))
      if (id) this.settle(id)
    for (const entry of e.entries ?? [])
      if (!this.entries.has(entry.id)) this.entries.set(entry.id, entry)
    if (e.idempotency) this.mergeIdempotency(e.idempotency)
    if (e.changes) {
      const { doc, pending } = applyToDoc(
        this.config(e.merchantId),
        e.changes,
        this.pendingChanges.get(e.merchantId) ?? [],
      )
      this.configs.set(e.merchantId, doc)
      this.pendingChanges.set(e.merchantId, pending)
    }
  }

  config(merchantId: string): Doc<MerchantConfig> {
    return this.configs.get(merchantId) ?? loadConfig(undefined)
  }

  mergePayment(incoming: PaymentReplica): void {
    const local = this.payments.get(incoming.payment.id)
    // Usage counters count payments: a payment new to this region adds one to its origin's slot,
    // once, however often or in whatever order its events arrive.
    if (!local && incoming.payment.originRegion !== this.id)
      this.count(incoming.payment.merchantId, incoming.payment.originRegion, 1)
    const merged = local ? this.merge(local, incoming) : incoming
    // Created in two regions (a failover race): the count follows the origin every region keeps.
    if (local && merged.payment.originRegion !== local.payment.originRegion) {
      this.count(local.payment.merchantId, local.payment.originRegion, -1)
      this.count(local.payment.merchantId, merged.payment.originRegion, 1)
    }
    if (local && statusRank[merged.payment.status] < statusRank[local.payment.status]) {
      this.regressions.push(
        `${local.payment.id}: ${local.payment.status} → ${merged.payment.status}`,
      )
    }
    this.payments.set(merged.payment.id, merged)
    if (contradictions(merged.seen).length > 0)
      this.conflicts.add(`payment_status:${merged.payment.id}`)
  }

  /** As the applier's settleMerged: derived fields from the operations and refunds held here. */
  settle(paymentId: string): void {
    const replica = this.payments.get(paymentId)
    if (!replica) return
    const settled = settlePayment(
      replica.payment,
      [...this.operations.values()].filter((o) => o.paymentId === paymentId),
      [...this.refunds.values()].filter((r) => r.paymentId === paymentId),
    )
    if (statusRank[settled.status] < statusRank[replica.payment.status])
      this.regressions.push(`${paymentId}: ${replica.payment.status} → ${settled.status} (settled)`)
    this.payments.set(paymentId, { ...replica, payment: settled })
  }

  mergeIdempotency(incoming: IdempotencyReplica): void {
    const k = `${incoming.merchantId}/${incoming.key}`
    const local = this.idempotency.get(k)
    if (!local) {
      this.idempotency.set(k, incoming)
      return
    }
    const { winner, conflict } = mergeIdempotency(local, incoming)
    this.idempotency.set(k, winner)
    if (conflict) this.conflicts.add(`idempotency:${k}`)
  }

  /** Payments per origin region, as usage_counters keeps them: one slot per region. */
  count(merchantId: string, region: string, by: number): void {
    const { [region]: slot = 0, ...rest } = this.counters.get(merchantId) ?? {}
    // An emptied slot is no slot, as in a region that never counted there.
    this.counters.set(merchantId, slot + by === 0 ? rest : { ...rest, [region]: slot + by })
  }

  /** Every entry balances and the whole ledger sums to zero per currency. */
  ledgerProblems(): string[] {
    const problems: string[] = []
    const totals = new Map<string, number>()
    for (const e of this.entries.values()) {
      try {
        assertBalanced(e)
      } catch (error) {
        problems.push(String(error))
      }
      for (const p of e.postings) totals.set(p.currency, (totals.get(p.currency) ?? 0) + p.amount)
    }
    for (const [currency, total] of totals)
      if (total !== 0) problems.push(`ledger off by ${total} ${currency}`)
    return problems
  }

  digest(): string {
    const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    const state = {
      payments: sorted(this.payments),
      refunds: sorted(this.refunds),
      operations: sorted(this.operations),
      entries: [...this.entries.keys()].sort(),
      idempotency: sorted(this.idempotency),
      conflicts: [...this.conflicts].sort(),
      counters: sorted(this.counters),
      configs: sorted(this.configs).map(([m, doc]) => [m, docContent(doc)]),
    }
    return createHash('sha256').update(canonicalJson(state)).digest('hex')
  }
}
