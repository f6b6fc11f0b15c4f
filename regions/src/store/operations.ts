import type { Operation } from '@meridian/core'
import type pg from 'pg'
import { operationColumns, type PaymentRow, rowToOperation } from './rows.ts'

/** A payment's operations, oldest first (the order every region processes them in). */
export async function getOperations(
  db: pg.Pool | pg.PoolClient,
  paymentId: string,
): Promise<Operation[]> {
  const { rows } = await db.query<PaymentRow>(
    `select ${operationColumns} from payment_operations where payment_id = $1 order by created_at, id`,
    [paymentId],
  )
  return rows.map(rowToOperation)
}

/**
 * An operation written as it is now, whole: inserted, or replaced by the version that won (its
 * status moved on, or the merge chose another region's version of the same id, amount and all).
 */
export async function saveOperation(
  client: pg.PoolClient,
  op: Operation,
  hlc: string,
): Promise<void> {
  await client.query(
    `insert into payment_operations (id, payment_id, merchant_id, kind, amount, currency, reason, status,
       failure_code, failure_message, origin_region, hlc, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, to_timestamp($13 / 1000.0))
     on conflict (id) do update set payment_id = excluded.payment_id, kind = excluded.kind,
       amount = excluded.amount, reason = excluded.reason, status = excluded.status,
       failure_code = excluded.failure_code, failure_message = excluded.failure_message,
       origin_region = excluded.origin_region, hlc = excluded.hlc,
       created_at = excluded.created_at, updated_at = now()`,
    [
      op.id,
      op.paymentId,
      op.merchantId,
      op.kind,
      op.amount,
      op.currency,
      op.reason,
      op.status,
      op.failureCode,
      op.failureMessage,
      op.originRegion,
      hlc,
      op.createdAtMs,
    ],
  )
}
