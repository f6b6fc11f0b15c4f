import type { PaymentState } from '@meridian/core'
import { inTransaction } from '@meridian/platform'
import type pg from 'pg'
import { writeEntries } from '../ledger/store.ts'
import { saveOperation } from '../store/operations.ts'
import { insertOutbox, savePayment, saveRefund } from '../store/payments.ts'
import { getPaymentState } from '../store/state.ts'
import type { Change } from './changes.ts'

/**
 * Apply one change in one transaction: lock the payment, let `decide` look at its current state
 * (with its operations and refunds) and return the change, or nothing when the work is already
 * done (a repeated Kafka message, a second worker, the reconciler racing the worker, another
 * region's outcome merged meanwhile). Then write payment, operation, refund, ledger entries and
 * outbox events together.
 */
export async function applyChange(
  pool: pg.Pool,
  region: string,
  paymentId: string,
  decide: (state: PaymentState) => Change | undefined,
): Promise<Change | undefined> {
  return inTransaction(pool, async (client) => {
    const state = await getPaymentState(client, paymentId, true)
    if (!state) return undefined
    const change = decide(state)
    if (!change) return undefined
    await savePayment(client, change.payment)
    if (change.operation) await saveOperation(client, change.operation, change.payment.hlc)
    if (change.refund) await saveRefund(client, change.refund, change.payment.hlc)
    await writeEntries(client, change.entries, region)
    await insertOutbox(client, change.events)
    return change
  })
}

/**
 * Record which processor a payment is (about to be) sent to, before sending: save, then submit.
 * Moving off a processor (`from` not null) also requires that no send happened since the caller's
 * own (`attemptsSeen`, from claimAttempt): another actor's send may have charged the card there.
 */
export async function pinProcessor(
  pool: pg.Pool,
  paymentId: string,
  processor: string | null,
  from: string | null,
  attemptsSeen?: number,
): Promise<boolean> {
  const result = await pool.query(
    `update payments set processor = $2, updated_at = now()
     where id = $1 and status = 'pending' and processor is not distinct from $3
       and ($4::int is null or processor_attempts = $4)`,
    [paymentId, processor, from, attemptsSeen ?? null],
  )
  return result.rowCount === 1
}

/**
 * Claim one send of the authorization to `processor`, pinning the payment there in the same
 * statement (from `from`, by default already there): the attempt's number, or undefined when the
 * pin is not what the caller saw, someone sent since `attemptsSeen`, or the payment is no longer
 * pending. Undefined means: do not send.
 */
export async function claimAttempt(
  pool: pg.Pool,
  paymentId: string,
  processor: string,
  from: string | null = processor,
  attemptsSeen?: number,
): Promise<number | undefined> {
  const { rows } = await pool.query<{ n: number }>(
    `update payments set processor = $2, processor_attempts = processor_attempts + 1, updated_at = now()
     where id = $1 and status = 'pending' and processor is not distinct from $3
       and ($4::int is null or processor_attempts = $4)
     returning processor_attempts as n`,
    [paymentId, processor, from, attemptsSeen ?? null],
  )
  return rows[0]?.n
}
