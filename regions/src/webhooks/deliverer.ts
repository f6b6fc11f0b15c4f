import { signWebhook, webhookSignatureHeader } from '@meridian/core'
import type { Logger } from '@meridian/platform'
import type pg from 'pg'
import { limitConcurrency } from '../workflow/semaphore.ts'
import { postWebhook } from './post.ts'
import { nextDelayMs, type RetrySchedule } from './schedule.ts'
import { type KeyRing, openSecret } from './secret-box.ts'

export const deliveryTimeoutMs = 10_000
export const deliveriesPerPassMax = 100
/** While one process delivers a row, others leave it alone for this long. */
const leaseMs = 60_000
/**
 * An idle deliverer sleeps until the earliest pending delivery is due (retries are scheduled
 * rows), and this process's dispatcher wakes it for new ones. This bound covers only rows that
 * become due elsewhere: a replay through the API, a lease that ran out in another process.
 */
export const idleWaitMsMax = 1000
/** Floor of an idle wait, so a row due but not leasable (locked by another pass) never spins. */
const idleWaitMsMin = 10

interface Due {
  id: string
  endpoint_id: string
  event_id: string
  payload: string
  attempts: number
  first_attempt_at: Date | null
  url: string
  /** Sealed, newest first (merchant-config.ts secretsNewestFirst). */
  secrets: { sealed: string; expiresMs?: number }[]
}

/**
 * The secrets that sign a delivery now, opened: every one not yet expired, newest first. One that
 * does not open (its key left the ring) is skipped and named in `unopened`; the delivery still
 * goes out signed by the others, and fails only when none opens.
 */
export function signingSecrets(
  keys: KeyRing,
  endpointId: string,
  secrets: readonly { sealed: string; expiresMs?: number }[],
  nowMs: number,
): { secrets: string[]; unopened: string[] } {
  const valid = secrets.filter((s) => s.expiresMs === undefined || s.expiresMs > nowMs)
  if (valid.length === 0) throw new Error('the endpoint has no valid signing secret: roll it')
  const opened: string[] = []
  const unopened: string[] = []
  for (const s of valid) {
    try {
      opened.push(openSecret(keys, s.sealed, endpointId).reveal())
    } catch (error) {
      unopened.push(error instanceof Error ? error.message : String(error))
    }
  }
  if (opened.length === 0)
    throw new Error(`no signing secret of the endpoint opens: ${unopened.join('; ')}`)
  return { secrets: opened, unopened }
}

/** Deliveries still to make (queued, or waiting for a retry): the webhook backlog. */
export async function webhookBacklog(pool: pg.Pool): Promise<number> {
  // webhook_deliveries_due covers exactly these rows (a partial index on status = 'pending').
  const { rows } = await pool.query<{ n: string }>(
    `select count(*) as n from webhook_deliveries where status = 'pending'`,
  )
  return Number(rows[0]?.n ?? 0)
}

/**
 * Delivers queued webhooks at least once: signed, one POST per attempt, 2xx means delivered;
 * anything else is retried on the schedule and, once the window is used up, dead-lettered.
 */
export class WebhookDeliverer {
  private stopped = true
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  /** A kick came while a pass ran: the next idle wait returns at once. */
  private woken = false

  constructor(
    private readonly pool: pg.Pool,
    private readonly schedule: RetrySchedule,
    private readonly log: Logger,
    /**
     * `allowLoopback`: local development's opt-in; every other internal address is always
     * refused. `secretKeys` open the endpoints' sealed signing secrets.
     */
    private readonly policy: { readonly allowLoopback: boolean; readonly secretKeys: KeyRing },
    /** Told of each delivery it dead-letters (the metric alerts are raised on). */
    private readonly onDeadLettered: () => void = () => {},
    private readonly waitMsMax = idleWaitMsMax,
  ) {}

  kick(): void {
    this.woken = true
    this.wake?.()
  }

  start(): void {
    this.stopped = false
    this.loop = (async () => {
      while (!this.stopped) {
        // A kick from here on may announce a row this pass misses: it ends the next wait.
        this.woken = false
        const n = await this.deliverDue().catch((error: unknown) => {
          this.log.warn('webhook pass failed', { error })
          return 0
        })
        if (n > 0) continue
        const ms = await this.msUntilDue()
        if (!this.woken) await this.idle(ms)
      }
    })()
  }

  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wake = done
    })
  }

  /** How long until the earliest pending delivery is due, within [idleWaitMsMin, waitMsMax]. */
  private async msUntilDue(): Promise<number> {
    const { rows } = await this.pool
      .query<{ ms: number | null }>(
        `select (extract(epoch from min(next_attempt_at) - now()) * 1000)::float8 as ms
         from webhook_deliveries where status = 'pending'`,
      )
      .catch((error: unknown) => {
        this.log.warn('webhook schedule not read', { error })
        return { rows: [] }
      })
    const ms = rows[0]?.ms ?? this.waitMsMax
    return Math.min(this.waitMsMax, Math.max(idleWaitMsMin, Math.ceil(ms)))
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.kick()
    await this.loop
  }

  /** One pass over due deliveries; returns how many were attempted. */
  async deliverDue(): Promise<number> {
    const { rows } = await this.pool.query<Due>(
      `update webhook_deliveries d set next_attempt_at = now() + ($1 || ' milliseconds')::interval
       from webhook_endpoints e
       where d.endpoint_id = e.id and d.id in (
         select id from webhook_deliveries where status = 'pending' and next_attempt_at <= now()
         order by next_attempt_at limit $2 for update skip locked)
       returning d.id, d.endpoint_id, d.event_id, d.payload, d.attempts, d.first_attempt_at, e.url, e.secrets`,
      [String(leaseMs), deliveriesPerPassMax],
    )
    const limit = limitConcurrency(16)
    await Promise.all(rows.map((row) => limit(() => this.attempt(row))))
    return rows.length
  }

  private async attempt(row: Due): Promise<void> {
    const started = row.first_attempt_at ?? new Date()
    let error: string | undefined
    try {
      const signing = signingSecrets(
        this.policy.secretKeys,
        row.endpoint_id,
        row.secrets,
        Date.now(),
      )
      if (signing.unopened.length > 0)
        this.log.warn('webhook secret does not open; signing with the others', {
          endpointId: row.endpoint_id,
          reasons: signing.unopened,
        })
      // The address is checked again here, against what the host resolves to now (SSRF).
      const response = await postWebhook(
        row.url,
        {
          'content-type': 'application/json',
          [webhookSignatureHeader]: await signWebhook(signing.secrets, row.payload),
          'Meridian-Event-Id': row.event_id,
        },
        row.payload,
        { allowLoopback: this.policy.allowLoopback, timeoutMs: deliveryTimeoutMs },
      )
      if (response.status >= 200 && response.status < 300) {
        await this.pool.query(
          `update webhook_deliveries set status = 'delivered', attempts = attempts + 1, delivered_at = now(),
             first_attempt_at = coalesce(first_attempt_at, $2), last_error = null where id = $1`,
          [row.id, started],
        )
        return
      }
      error =
        response.status >= 300 && response.status < 400
          ? `HTTP ${response.status} (redirects are not followed)`
          : `HTTP ${response.status}`
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    }
    await this.failed(row, started, error)
  }

  private async failed(row: Due, started: Date, error: string): Promise<void> {
    const attempts = row.attempts + 1
    const delay = nextDelayMs(this.schedule, attempts, Date.now() - started.getTime())
    if (delay === undefined) {
      await this.pool.query(
        `with dead as (update webhook_deliveries set status = 'dead', attempts = $2, last_error = $3,
             first_attempt_at = coalesce(first_attempt_at, $4) where id = $1
           returning id, endpoint_id, merchant_id, event_id, attempts, last_error)
         insert into webhook_dead_letters (delivery_id, endpoint_id, merchant_id, event_id, attempts, last_error)
         select * from dead on conflict (delivery_id) do update set attempts = excluded.attempts,
           last_error = excluded.last_error, dead_at = now(), replayed_at = null`,
        [row.id, attempts, error, started],
      )
      this.onDeadLettered()
      this.log.warn('webhook dead-lettered', {
        deliveryId: row.id,
        eventId: row.event_id,
        attempts,
        error,
      })
      return
    }
    await this.pool.query(
      `update webhook_deliveries set attempts = $2, last_error = $3, first_attempt_at = coalesce(first_attempt_at, $4),
         next_attempt_at = now() + ($5 || ' milliseconds')::interval where id = $1`,
      [row.id, attempts, error, started, String(delay)],
    )
  }
}
