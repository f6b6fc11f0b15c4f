import type { PaymentState } from '@meridian/core'
import type pg from 'pg'
import { getOperations } from './operations.ts'
import { getPaymentById, getRefunds } from './payments.ts'

export async function getPaymentState(
  db: pg.Pool | pg.PoolClient,
  paymentId: string,
  forUpdate = false,
): Promise<PaymentState | undefined> {
  const payment = await getPaymentById(db, paymentId, forUpdate)
  if (!payment) return undefined
  return {
    payment,
    operations: await getOperations(db, paymentId),
    refunds: await getRefunds(db, paymentId),
  }
}
