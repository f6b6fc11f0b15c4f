import type pg from 'pg'

/** A payment found to share its Idempotency-Key with another, and what was done about it. */
export interface DuplicatePayment {
  readonly paymentId: string
  readonly merchantId: string
  readonly idempotencyKey: string
  readonly keptPaymentId: string
  readonly detectedAt: Date
  /** 'cancel' or 'refund' once issued, 'none' when nothing had been charged; null while waiting. */
  readonly action: string | null
  readonly operationId: string | null
  /** When it was undone (or found to need nothing); null while it is still open. */
  readonly settledAt: Date | null
  readonly status: string | null
}

/** Every duplicate this region knows of, open ones first (duplicate_payments, local bookkeeping). */
export async function listDuplicates(db: pg.Pool | pg.PoolClient): Promise<DuplicatePayment[]> {
  const { rows } = await db.query<{
    payment_id: string
    merchant_id: string
    idempotency_key: string
    kept_payment_id: string
    detected_at: Date
    action: string | null
    operation_id: string | null
    settled_at: Date | null
    status: string | null
  }>(
    `select d.*, p.status from duplicate_payments d left join payments p on p.id = d.payment_id
      order by d.settled_at is not null, d.detected_at, d.payment_id`,
  )
  return rows.map((r) => ({
    paymentId: r.payment_id,
    merchantId: r.merchant_id,
    idempotencyKey: r.idempotency_key,
    keptPaymentId: r.kept_payment_id,
    detectedAt: r.detected_at,
    action: r.action,
    operationId: r.operation_id,
    settledAt: r.settled_at,
    status: r.status,
  }))
}
