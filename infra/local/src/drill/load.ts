import { seededRandom } from '@meridian/platform'
import {
  type AttemptInfo,
  CardError,
  ConnectionError,
  Meridian,
  type MeridianError,
} from '@meridian/sdk'

/** One HTTP attempt as the merchant saw it. */
export interface Attempt {
  readonly key: string
  readonly sentAtMs: number
  readonly latencyMs: number
  /** HTTP status, or 0 when no answer came (refused, reset, client timeout). */
  readonly status: number
  /** Which region answered (Meridian-Region), when one did. */
  readonly region?: string
  /**
   * Why it failed, for the report: the error object's code (`region_unavailable`), or, with no
   * answer, the client's own error (`TimeoutError`, `ECONNREFUSED`).
   */
  readonly error?: string
}

/** A payment the gateway acknowledged (2xx): the checker's ground truth. */
export interface Acknowledged {
  readonly key: string
  readonly merchantId: string
  readonly paymentId: string
  readonly amount: number
  readonly region: string
  readonly ackedAtMs: number
}

export interface Order {
  readonly key: string
  readonly merchantId: string
  readonly amount: number
  readonly firstSentAtMs: number
  /** Final: acknowledged, rejected with a 4xx the merchant cannot retry, or given up. */
  outcome: 'pending' | 'acknowledged' | 'rejected' | 'gave_up'
}

export interface LoadOptions {
  readonly edgeUrl: string
  /** merchant → API key */
  readonly keys: Readonly<Record<string, string>>
  readonly ratePerSec: number
  readonly seed: number
  /** Tag on every key and in every payment's metadata, to find this run's payments. */
  readonly runId: string
  /**
   * Merchants that wait less for an answer than others before retrying (clientRetry.timeoutMs
   * for everyone else): `region-hang`'s merchants homed in the hung region.
   */
  readonly impatient?: { readonly merchants: readonly string[]; readonly timeoutMs: number }
}

/**
 * How a real merchant retries, through the SDK: same key on every attempt, full-jitter backoff
 * from 100 ms to 2 s (Retry-After honoured), for as long as the load runs, then for
 * `giveUpAfterMs` more.
 */
export const clientRetry = {
  timeoutMs: 10_000,
  retryDelayMsInitial: 100,
  retryDelayMsMax: 2_000,
  /** Retries continue this long after the load stops (the drill waits for them). */
  giveUpAfterMs: 60_000,
} as const

/** Outstanding requests above this mean the gateway is not keeping up; sends are skipped, counted. */
export const inFlightMax = 2_000

/**
 * Open-loop load through the edge: payments start on a fixed schedule whatever the gateway does
 * (a closed loop would slow down with it and hide the outage), each with its own Idempotency-Key,
 * created with the SDK as a merchant would (one client per merchant), every attempt recorded.
 */
export class LoadGenerator {
  readonly attempts: Attempt[] = []
  readonly acknowledged: Acknowledged[] = []
  readonly orders = new Map<string, Order>()
  skipped = 0
  private inFlight = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private stoppedAtMs: number | undefined
  /** Per order still retrying: aborted to give up, between attempts (see `record`). */
  private readonly giveUps = new Map<string, AbortController>()
  private readonly random: () => number
  private readonly merchants: string[]
  private readonly clients: ReadonlyMap<string, Meridian>
  private sequence = 0

  constructor(private readonly options: LoadOptions) {
    this.random = seededRandom(options.seed)
    this.merchants = Object.keys(options.keys).sort()
    this.clients = new Map(
      this.merchants.map((m) => [
        m,
        new Meridian(options.keys[m] ?? '', {
          baseUrl: options.edgeUrl,
          // Bounded by time, not count: a merchant keeps trying through the whole fault.
          maxRetries: Number.MAX_SAFE_INTEGER,
          timeoutMs: clientRetry.timeoutMs,
          retryDelayMsInitial: clientRetry.retryDelayMsInitial,
          retryDelayMsMax: clientRetry.retryDelayMsMax,
          // The run's seed drives amounts and jitter alike, so a drill replays its traffic.
          random: this.random,
          onAttempt: (a) => this.record(a),
        }),
      ]),
    )
  }

  start(): void {
    const startedAt = performance.now()
    const intervalMs = 1000 / this.options.ratePerSec
    let due = 0
    this.timer = setInterval(() => {
      const target = Math.floor((performance.now() - startedAt) / intervalMs)
      for (; due < target; due++) this.launch()
    }, 5)
  }

  /** Stop starting payments; retries of the started ones go on until they finish or give up. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.stoppedAtMs = Date.now()
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  private launch(): void {
    if (this.inFlight.size >= inFlightMax) {
      this.skipped++
      return
    }
    const n = this.sequence++
    const merchantId = this.merchants[n % this.merchants.length] ?? ''
    const order: Order = {
      key: `${this.options.runId}-${n}`,
      merchantId,
      amount: 100 + Math.floor(this.random() * 9_900),
      firstSentAtMs: Date.now(),
      outcome: 'pending',
    }
    this.orders.set(order.key, order)
    const work = this.run(order).finally(() => this.inFlight.delete(work))
    this.inFlight.add(work)
  }

  private async run(order: Order): Promise<void> {
    const client = this.clients.get(order.merchantId)
    if (!client) throw new Error(`no API key for ${order.merchantId}`)
    const giveUp = new AbortController()
    this.giveUps.set(order.key, giveUp)
    const impatient = this.options.impatient
    const timeoutMs = impatient?.merchants.includes(order.merchantId)
      ? impatient.timeoutMs
      : clientRetry.timeoutMs
    try {
      const payment = await client.payments.create(
        {
          amount: order.amount,
          currency: 'usd',
          payment_method: 'pm_card_visa',
          metadata: { drill_run: this.options.runId, drill_key: order.key },
        },
        {
          idempotencyKey: order.key,
          signal: giveUp.signal,
          timeoutMs,
        },
      )
      this.acknowledge(order, payment.id, payment.lastResponse.region)
    } catch (thrown) {
      // A payment declined at once was acknowledged all the same (202): it exists, declined.
      if (thrown instanceof CardError) {
        this.acknowledge(order, thrown.payment.id, thrown.payment.lastResponse.region)
        return
      }
      order.outcome = giveUp.signal.aborted ? 'gave_up' : 'rejected'
    } finally {
      this.giveUps.delete(order.key)
    }
  }

  private acknowledge(order: Order, paymentId: unknown, region: string | undefined): void {
    if (typeof paymentId !== 'string') throw new Error(`2xx without a payment id for ${order.key}`)
    order.outcome = 'acknowledged'
    this.acknowledged.push({
      key: order.key,
      merchantId: order.merchantId,
      paymentId,
      amount: order.amount,
      region: region ?? '?',
      ackedAtMs: Date.now(),
    })
  }

  private record(a: AttemptInfo): void {
    // Give up once an attempt failed this long after the load stopped: never cut one in flight.
    const key = a.idempotencyKey ?? ''
    const late =
      this.stoppedAtMs !== undefined && Date.now() - this.stoppedAtMs > clientRetry.giveUpAfterMs
    if (a.retryInMs !== undefined && late) this.giveUps.get(key)?.abort()
    const error = a.error === undefined ? undefined : failureOf(a.error)
    this.attempts.push({
      key,
      sentAtMs: a.sentAtMs,
      latencyMs: a.latencyMs,
      status: a.status,
      ...(a.region ? { region: a.region } : {}),
      ...(error ? { error } : {}),
    })
  }
}

/**
 * Why an attempt failed, named as an operator would search for it: the error object's code
 * (`region_unavailable`); with no answer, `TimeoutError` or the connection's own code
 * (`ECONNREFUSED`), else the error's name.
 */
function failureOf(error: MeridianError): string {
  if (error instanceof ConnectionError) {
    if (error.timedOut) return 'TimeoutError'
    const cause = error.cause as { name?: unknown; cause?: { code?: unknown } } | undefined
    if (typeof cause?.cause?.code === 'string') return cause.cause.code
    return typeof cause?.name === 'string' ? cause.name : error.name
  }
  return error.code ?? `HTTP ${error.status}`
}
