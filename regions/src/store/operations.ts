import type { Operation } from '@meridian/core'
import type pg from 'pg'
import { paymentOperations } from './columns.ts'
import type { Row } from './rows.ts'

const selectOperationsSql = `select ${paymentOperations.domain.names} from payment_operations where payment_id = $1 order by created_at, id`

/** A payment's operations, oldest first (the order every region processes them in). */
export async function getOperations(
  db: pg.Pool | pg.PoolClient,
  paymentId: string,
): Promise<Operation[]> {
  const { rows } = await db.query<Row>(selectOperationsSql, [paymentId])
  return rows.map(paymentOperations.read)
}

const saveOperationSql = `insert into payment_operations (${paymentOperations.all.names})
     values (${paymentOperations.all.values(1)})
     on conflict (${paymentOperations.key.names}) do update set ${paymentOperations.all.where((c) => c.changes !== 'never').excluded},
       updated_at = now()`

/**
 * An operation written as it is now, whole: inserted, or replaced by the version that won (its
 * status moved on, or the merge chose another region's version of the same id, amount and all).
 */
export async function saveOperation(
  client: pg.PoolClient,
  op: Operation,
  hlc: string,
): Promise<void> {
  await client.query(saveOperationSql, paymentOperations.all.params({ ...op, hlc }))
}
