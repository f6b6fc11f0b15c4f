import { fnv1a32 } from '@meridian/core'
import type { Logger } from '@meridian/platform'
import type pg from 'pg'
import type { ProcessorPins } from '../adapters/pins.ts'
import { getPaymentById } from '../store/payments.ts'
import { DuplicateCompensator } from './compensation.ts'
import type { PaymentFlow } from './flow.ts'

export interface ReconcilerOptions {
  readonly lockName: string
  /**
   * This region. A pending payment is authorized only by the region it was created in (its
   * origin): another region's replica may show an older pin, and sending it anywhere else could
   * charge the card twice. Outstanding captures, cancels and refunds go to the processor that
   * already holds the authorization, under keys it dedupes, so any region may drive those.
   */
  readonly region: string
  /** A payment or operation untouched this long is stuck: ask the processor for the truth. */
  readonly stuckAfterMs: number
  /** An authorization nobody captured within this long expires (voided, hold released). */
  readonly authorizationTtlMs: number
  /** A payment no processor ever accepted (all were down) fails after this long. */
  readonly unsentFailAfterMs: number
  readonly intervalMs: number
  readonly batchSizeMax?: number
}

export const reconcilerDefaults = {
  stuckAfterMs: 30_000,
  authorizationTtlMs: 7 * 24 * 60 * 60_000,
  unsentFailAfterMs: 60 * 60_000,
  intervalMs: 5000,
} as const

/**
 * Finds payments stuck in pending (or with a capture, cancel or refund outstanding), asks the
 * processor what really happened and applies it; expires old authorizations. One reconciler per
 * region acts at a time (advisory lock); its work is idempotent anyway.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private leader: pg.PoolClient | undefined
  private readonly duplicates: DuplicateCompensator

  constructor(
    private readonly pool: pg.Pool,
    private readonly flow: PaymentFlow,
    private readonly options: ReconcilerOptions,
    private readonly log: Logger,
    register: ProcessorPins,
  ) {
    this.duplicates = new DuplicateCompensator(pool, flow, register, options.region, log)
  }

  start(): void {
    const tick = () => {
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.log.warn('reconciler pass failed', { error }))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.intervalMs)
        })
    }
    this.timer = setTimeout(tick, this.options.intervalMs)
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.running
    this.leader?.release()
    this.leader = undefined
  }

  private async isLeader(): Promise<boolean> {
    if (this.leader) return true
    const client = await this.pool.connect()
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [
      fnv1a32(`reconciler:${this.options.lockName}`),
    ])
    if (rows[0]?.ok) {
      this.leader = client
      return true
    }
    client.release()
    return false
  }

  /** One pass; returns how many payments it looked at. */
  async runOnce(): Promise<number> {
    if (!(await this.isLeader())) return 0
    const limit = this.options.batchSizeMax ?? 200
    const stuck = await this.pool.query<{ id: string }>(
      `select id from payments
        where ((status = 'pending' and origin_region = $3) or pending_operation is not null)
         and updated_at < now() - ($1 || ' milliseconds')::interval
       union
       select payment_id from refunds where status = 'pending' and updated_at < now() - ($1 || ' milliseconds')::interval
       union
       select payment_id from payment_operations where status = 'pending' and updated_at < now() - ($1 || ' milliseconds')::interval
       limit $2`,
      [String(this.options.stuckAfterMs), limit, this.options.region],
    )
    for (const { id } of stuck.rows) await this.reconcile(id)
    const expiring = await this.pool.query<{ id: string }>(
      `select id from payments where status = 'authorized' and pending_operation is null
         and authorized_at < now() - ($1 || ' milliseconds')::interval limit $2`,
      [String(this.options.authorizationTtlMs), limit],
    )
    for (const { id } of expiring.rows) {
      const p = await getPaymentById(this.pool, id)
      if (p)
        await this.flow
          .requestCancel(p, 'expired')
          .catch((error: unknown) => this.log.warn('expiry failed', { paymentId: id, error }))
    }
    const duplicates = await this.duplicates.runOnce()
    return stuck.rows.length + expiring.rows.length + duplicates
  }

  private async reconcile(id: string): Promise<void> {
    try {
      const before = await getPaymentById(this.pool, id)
      await this.flow.advance(id)
      const after = await getPaymentById(this.pool, id)
      const ageMs = before ? Date.now() - before.createdAtMs : 0
      if (
        after?.status === 'pending' &&
        after.processor === null &&
        ageMs > this.options.unsentFailAfterMs
      ) {
        await this.flow.failUnsent(
          after,
          'No processor accepted the payment in time; nothing was charged.',
        )
      }
      // Whatever happened, touch the row so the next pass looks at other stuck payments first.
      await this.pool.query(
        'update payments set updated_at = now() where id = $1 and (status = $2 or pending_operation is not null)',
        [id, 'pending'],
      )
    } catch (error) {
      this.log.warn('reconciling a payment failed', { paymentId: id, error })
    }
  }
}
