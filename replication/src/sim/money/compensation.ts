import {
  compensationFor,
  compensationRefundId,
  keptPayment,
  type Payment,
  type Refund,
  systemOperationId,
} from '@meridian/core'
import type { ProcessorPins } from '@meridian/regions/replication'
import type { ModelFlow } from './flow.ts'
import type { IdempotencyConflict, RegionStore } from './store.ts'
import type { Telemetry } from './telemetry.ts'

/**
 * regions/src/workflow/compensation.ts over the model's store: keys whose replicated records
 * disagree about two payments or more keep one (core keptPayment) and each other one is undone
 * (core compensationFor) by the region every region agrees created it; what was found and done
 * is kept in the store's duplicate_payments.
 */
export class ModelCompensator {
  constructor(
    private readonly store: RegionStore,
    private readonly flow: ModelFlow,
    private readonly register: ProcessorPins,
    private readonly region: string,
    private readonly wallMs: () => number,
    private readonly t: Telemetry,
    private readonly failed: (where: string, error: unknown) => void,
  ) {}

  /** One pass; returns the duplicates still open. */
  async runOnce(): Promise<number> {
    const rows = [...this.store.conflicts.values()]
      .filter((c) => c.kind === 'idempotency')
      .map((c) => ({ subject: c.subject, detail: c.detail as IdempotencyConflict }))
      .filter((c) => c.detail.resources.filter((r) => r.startsWith('pay_')).length >= 2)
      .sort((a, b) => (a.subject < b.subject ? -1 : 1))
    let open = 0
    for (const { subject, detail } of rows) {
      try {
        open += await this.key(subject, detail)
      } catch (error) {
        // As the real one: logged, and the next pass tries again.
        this.failed('compensation', error)
      }
    }
    return open
  }

  private async key(subject: string, detail: IdempotencyConflict): Promise<number> {
    const ids = detail.resources.filter((r) => r.startsWith('pay_'))
    if (ids.length < 2) return 0
    const rows = ids
      .map((id) => this.store.payments.get(id)?.payment)
      .filter((p): p is Payment => p !== undefined)
    if (rows.length < ids.length) return 1
    // Agreed once, fleet-wide (the register), as compensation.ts does.
    const proposed = keptPayment(rows, detail.winner)
    if (proposed === undefined) return 0
    const kept = await this.register.agree(`kept:${subject}`, proposed)
    if (!rows.some((r) => r.id === kept)) return 1
    const slash = subject.indexOf('/')
    const [merchantId, key] = [subject.slice(0, slash), subject.slice(slash + 1)]
    let open = 0
    for (const id of ids) {
      if (id === kept) continue
      if (!this.store.duplicates.has(id)) {
        this.store.duplicates.set(id, {
          paymentId: id,
          merchantId,
          key,
          kept,
          settled: false,
          action: null,
          operationId: null,
        })
        this.t.count('duplicatesFound')
        this.t.trace(
          () => `${this.region} compensator: ${id} is a duplicate under ${subject}, kept ${kept}`,
        )
      }
      if (this.store.duplicates.get(id)?.settled) continue
      if (!(await this.compensate(id))) open++
    }
    return open
  }

  private async compensate(id: string): Promise<boolean> {
    const state = this.store.state(id)
    const row = this.store.duplicates.get(id)
    if (!state || !row) return false
    const p = state.payment
    const decision = compensationFor(p, state.operations, state.refunds)
    if (decision.kind === 'done') {
      const action = { canceled: 'cancel', refunded: 'refund', nothing_charged: 'none' }[
        decision.outcome
      ]
      if (!row.settled) {
        this.t.trace(() => `${this.region} compensator: ${id} settled (${decision.outcome})`)
        row.settled = true
        row.action ??= action
      }
      return true
    }
    // One region acts: the one every region agrees created it (the merged origin).
    if (decision.kind === 'wait' || p.originRegion !== this.region) return false
    if (decision.kind === 'cancel') {
      if (await this.flow.requestCancel(p, 'duplicate')) this.t.count('compensationCancels')
      row.action = 'cancel'
      row.operationId = await systemOperationId(p.id, 'compensate')
    } else {
      const refund = await this.refundFor(p, decision.amount, decision.attempt)
      if (await this.flow.requestRefund(p, refund)) this.t.count('compensationRefunds')
      row.action = 'refund'
      row.operationId = refund.id
    }
    return false
  }

  private async refundFor(p: Payment, amount: number, attempt: number): Promise<Refund> {
    return {
      id: await compensationRefundId(p.id, attempt),
      paymentId: p.id,
      merchantId: p.merchantId,
      amount,
      currency: p.currency,
      status: 'pending',
      reason: 'duplicate',
      metadata: {},
      failureMessage: null,
      processorRef: null,
      originRegion: this.region,
      createdAtMs: this.wallMs(),
    }
  }
}
