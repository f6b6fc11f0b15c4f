import {
  compensationFor,
  compensationRefundId,
  keptPayment,
  type Payment,
  type Refund,
  systemOperationId,
} from '@meridian/core'
import type { Logger } from '@meridian/platform'
import type pg from 'pg'
import type { ProcessorPins } from '../adapters/pins.ts'
import { getPaymentState } from '../store/state.ts'
import type { PaymentFlow } from './flow.ts'

/**
 * Finds payments that share one Idempotency-Key with another and undoes the later ones at the
 * processor (ARCHITECTURE.md, "Exactly once"). Replication flags every key whose records
 * disagree (`replication_conflicts`, kind idempotency); a key with two or more payments keeps
 * one (keptPayment) and each other one is compensated by its origin region: canceled if
 * authorized, refunded if captured, with the usual webhooks. Each duplicate found is recorded in
 * `duplicate_payments` with what was done, which /replication/status, its metrics and
 * `pnpm ledger:check` show.
 */
export class DuplicateCompensator {
  constructor(
    private readonly pool: pg.Pool,
    private readonly flow: PaymentFlow,
    private readonly register: ProcessorPins,
    private readonly region: string,
    private readonly log: Logger,
  ) {}

  /** One pass over the keys with more than one payment; returns the duplicates still open. */
  async runOnce(): Promise<number> {
    // Keys holding two payments or more. A key whose duplicates are all undone is looked at
    // again: another payment under it may still arrive (from a region that was cut off).
    const { rows } = await this.pool.query<{ subject: string; detail: Conflict }>(
      `select c.subject, c.detail from replication_conflicts c
        where c.kind = 'idempotency'
          and (select count(*) from jsonb_array_elements_text(c.detail->'resources') r
                where r like 'pay\\_%') >= 2`,
    )
    let open = 0
    for (const { subject, detail } of rows) {
      try {
        open += await this.key(subject, detail)
      } catch (error) {
        this.log.warn('compensating a duplicate payment failed; next pass retries', {
          key: subject,
          error,
        })
      }
    }
    return open
  }

  private async key(subject: string, detail: Conflict): Promise<number> {
    const ids = detail.resources.filter((r) => r.startsWith('pay_'))
    if (ids.length < 2) return 0
    const { rows } = await this.pool.query<{ id: string; created_ms: string }>(
      `select id, (extract(epoch from created_at) * 1000)::bigint as created_ms from payments where id = any($1)`,
      [ids],
    )
    if (rows.length < ids.length) return 1
    // Which one is kept is agreed once, fleet-wide: a region deciding from what it holds now
    // could choose otherwise than a region that heard of another payment first, and then both
    // payments would be undone. The first proposal stands; a later payment is simply undone.
    const proposed = keptPayment(
      rows.map((r) => ({ id: r.id, createdAtMs: Number(r.created_ms) })),
      detail.winner,
    )
    if (proposed === undefined) return 0
    const kept = await this.register.agree(`kept:${subject}`, proposed)
    // The agreed payment has not reached this region yet: nothing to decide here until it has.
    if (!rows.some((r) => r.id === kept)) return 1
    const slash = subject.indexOf('/')
    const [merchantId, key] = [subject.slice(0, slash), subject.slice(slash + 1)]
    let open = 0
    for (const id of ids) {
      if (id === kept) continue
      const { rows: done } = await this.pool.query(
        `insert into duplicate_payments (payment_id, merchant_id, idempotency_key, kept_payment_id)
         values ($1, $2, $3, $4) on conflict (payment_id) do update set kept_payment_id = excluded.kept_payment_id
         returning settled_at`,
        [id, merchantId, key, kept],
      )
      if (done[0]?.settled_at) continue
      if (!(await this.compensate(id))) open++
    }
    return open
  }

  /** Move one duplicate a step toward undone; true once it is (or nothing was ever charged). */
  private async compensate(id: string): Promise<boolean> {
    const state = await getPaymentState(this.pool, id)
    if (!state) return false
    const p = state.payment
    const decision = compensationFor(p, state.operations, state.refunds)
    if (decision.kind === 'done') {
      const action = { canceled: 'cancel', refunded: 'refund', nothing_charged: 'none' }[
        decision.outcome
      ]
      await this.pool.query(
        `update duplicate_payments set settled_at = now(), action = coalesce(action, $2)
          where payment_id = $1 and settled_at is null`,
        [id, action],
      )
      return true
    }
    // One region acts: the one every region agrees created it (the merged origin).
    if (decision.kind === 'wait' || p.originRegion !== this.region) return false
    if (decision.kind === 'cancel') {
      await this.flow.requestCancel(p, 'duplicate')
      await this.note(id, 'cancel', await systemOperationId(p.id, 'compensate'))
    } else {
      const refund = await this.refundFor(p, decision.amount, decision.attempt)
      await this.flow.requestRefund(p, refund)
      await this.note(id, 'refund', refund.id)
    }
    this.log.warn('duplicate payment under one Idempotency-Key: compensating', {
      paymentId: id,
      action: decision.kind,
    })
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
      createdAtMs: Date.now(),
    }
  }

  private async note(id: string, action: 'cancel' | 'refund', operationId: string): Promise<void> {
    await this.pool.query(
      'update duplicate_payments set action = $2, operation_id = $3 where payment_id = $1',
      [id, action, operationId],
    )
  }
}

interface Conflict {
  readonly resources: readonly string[]
  readonly winner: string
}
