import { backoffDelayMs, halfJitter, seededRandom, sleep } from '@meridian/platform'

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

/** How a real merchant retries: same key, backoff with jitter, for a while, then gives up. */
export const clientRetry = {
  timeoutMs: 10_000,
  backoff: { delayMsMin: 100, delayMsMax: 2_000, jitter: halfJitter },
  /** Retries continue this long after the load stops (the drill waits for them). */
  giveUpAfterMs: 60_000,
} as const

/** Outstanding requests above this mean the gateway is not keeping up; sends are skipped, counted. */
export const inFlightMax = 2_000

const retriableStatus = (status: number) =>
  status === 0 || status === 409 || status === 429 || status >= 500

/**
 * Open-loop load through the edge: payments start on a fixed schedule whatever the gateway does
 * (a closed loop would slow down with it and hide the outage), each with its own Idempotency-Key,
 * retried on errors as a merchant would.
 */
export class LoadGenerator {
  readonly attempts: Attempt[] = []
  readonly acknowledged: Acknowledged[] = []
  readonly orders = new Map<string, Order>()
  skipped = 0
  private inFlight = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private stoppedAtMs: number | undefined
  private readonly random: () => number
  private readonly merchants: string[]
  private sequence = 0

  constructor(private readonly options: LoadOptions) {
    this.random = seededRandom(options.seed)
    this.merchants = Object.keys(options.keys).sort()
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
    for (let attempt = 0; ; attempt++) {
      const status = await this.attempt(order)
      if (status >= 200 && status < 300) {
        order.outcome = 'acknowledged'
        return
      }
      if (!retriableStatus(status)) {
        order.outcome = 'rejected'
        return
      }
      if (
        this.stoppedAtMs !== undefined &&
        Date.now() - this.stoppedAtMs > clientRetry.giveUpAfterMs
      ) {
        order.outcome = 'gave_up'
        return
      }
      await sleep(backoffDelayMs(attempt, clientRetry.backoff, this.random))
    }
  }

  private async attempt(order: Order): Promise<number> {
    const sentAtMs = Date.now()
    const started = performance.now()
    let status = 0
    let region: string | undefined
    let error: string | undefined
    try {
      const response = await fetch(`${this.options.edgeUrl}/v1/payments`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.keys[order.merchantId]}`,
          'idempotency-key': order.key,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          amount: order.amount,
          currency: 'usd',
          payment_method: 'pm_card_visa',
          metadata: { drill_run: this.options.runId, drill_key: order.key },
        }),
        signal: AbortSignal.timeout(
          this.options.impatient?.merchants.includes(order.merchantId)
            ? this.options.impatient.timeoutMs
            : clientRetry.timeoutMs,
        ),
      })
      status = response.status
      region = response.headers.get('meridian-region') ?? undefined
      const body = (await response.json().catch(() => ({}))) as {
        id?: string
        error?: { code?: string }
      }
      if (status < 200 || status >= 300) error = body.error?.code ?? `HTTP ${status}`
      if (status >= 200 && status < 300) {
        if (typeof body.id !== 'string')
          throw new Error(`2xx without a payment id for ${order.key}`)
        this.acknowledged.push({
          key: order.key,
          merchantId: order.merchantId,
          paymentId: body.id,
          amount: order.amount,
          region: region ?? '?',
          ackedAtMs: Date.now(),
        })
      }
    } catch (thrown) {
      if (thrown instanceof Error && thrown.message.startsWith('2xx without')) throw thrown
      status = 0
      error = clientError(thrown)
    }
    this.attempts.push({
      key: order.key,
      sentAtMs,
      latencyMs: performance.now() - started,
      status,
      ...(region ? { region } : {}),
      ...(error ? { error } : {}),
    })
    return status
  }
}

/** fetch's failure, named as an operator would search for it: the cause's code, else the error's name. */
function clientError(thrown: unknown): string {
  if (!(thrown instanceof Error)) return String(thrown)
  const cause = thrown.cause as { code?: unknown } | undefined
  return typeof cause?.code === 'string' ? cause.code : thrown.name
}
