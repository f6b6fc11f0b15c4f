import type { AttemptInfo, Transport } from './http.ts'
import { BalanceResource } from './resources/balance.ts'
import { Payments } from './resources/payments.ts'
import { Refunds } from './resources/refunds.ts'
import { WebhookEndpoints } from './resources/webhook-endpoints.ts'
import { type RetryPolicy, retryDefaults } from './retry.ts'
import { webhooks } from './webhooks.ts'

export interface MeridianOptions {
  /** The edge endpoint, e.g. `http://127.0.0.1:8787` for `pnpm start`. */
  readonly baseUrl: string
  /** Retries after the first attempt (default 2); each call may set its own. */
  readonly maxRetries?: number
  /** Per attempt (default 30 s): an attempt unanswered after this long is abandoned and retried. */
  readonly timeoutMs?: number
  /** A fetch of your own (a proxy, instrumentation, a Worker's service binding). */
  readonly fetch?: typeof fetch
  readonly retryDelayMsInitial?: number
  readonly retryDelayMsMax?: number
  readonly retryAfterMsMax?: number
  /** The jitter's random source, in [0, 1): seed it to replay a run's timing exactly. */
  readonly random?: () => number
  /** Called after every attempt, retried or not: logs, metrics, load generators. */
  readonly onAttempt?: (attempt: AttemptInfo) => void
}

export const timeoutMsDefault = 30_000

/**
 * The Meridian API client: `new Meridian(apiKey, { baseUrl })`. Every POST carries an
 * Idempotency-Key (yours, or one generated per call) that all its retries reuse, so a call the
 * SDK retries is carried out at most once.
 */
export class Meridian {
  readonly payments: Payments
  readonly refunds: Refunds
  readonly webhookEndpoints: WebhookEndpoints
  readonly balance: BalanceResource
  readonly webhooks = webhooks

  constructor(apiKey: string, options: MeridianOptions) {
    if (typeof apiKey !== 'string' || apiKey === '')
      throw new TypeError('new Meridian(apiKey, options) needs the API key')
    const policy: RetryPolicy = {
      maxRetries: options.maxRetries ?? retryDefaults.maxRetries,
      retryDelayMsInitial: options.retryDelayMsInitial ?? retryDefaults.retryDelayMsInitial,
      retryDelayMsMax: options.retryDelayMsMax ?? retryDefaults.retryDelayMsMax,
      retryAfterMsMax: options.retryAfterMsMax ?? retryDefaults.retryAfterMsMax,
    }
    for (const [name, value] of Object.entries(policy))
      if (!Number.isSafeInteger(value) || value < 0)
        throw new RangeError(`${name} must be an integer ≥ 0, not ${value}`)
    const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    // The key lives only in this closure: the client prints and serializes without it.
    const transport: Transport = {
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      authorization: () => `Bearer ${apiKey}`,
      fetch: fetchFn,
      policy,
      timeoutMs: options.timeoutMs ?? timeoutMsDefault,
      random: options.random ?? Math.random,
      onAttempt: options.onAttempt,
    }
    this.payments = new Payments(transport)
    this.refunds = new Refunds(transport)
    this.webhookEndpoints = new WebhookEndpoints(transport)
    this.balance = new BalanceResource(transport)
  }
}
