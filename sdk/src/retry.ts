/**
 * When the SDK tries a call again, and after how long. Pure: the client feeds it what an attempt
 * ended with and its random source, so the rules are tested without a network or a clock.
 *
 * Retrying never doubles an operation: every POST carries an Idempotency-Key that all its
 * attempts share (the server replays the first outcome), and GETs change nothing.
 */
export interface RetryPolicy {
  /** Attempts after the first; 0 sends once. */
  readonly maxRetries: number
  /** The first retry waits up to this long; each later one up to twice the one before. */
  readonly retryDelayMsInitial: number
  /** No backoff waits longer than this, however many retries came before. */
  readonly retryDelayMsMax: number
  /**
   * A Retry-After longer than this is not waited for: the call fails with the error, which
   * carries `retryAfterSec`, so the caller decides rather than the SDK hanging for minutes.
   */
  readonly retryAfterMsMax: number
}

export const retryDefaults: RetryPolicy = {
  maxRetries: 2,
  retryDelayMsInitial: 500,
  retryDelayMsMax: 8_000,
  retryAfterMsMax: 60_000,
}

/** How an attempt ended, as far as retrying is concerned. */
export type AttemptOutcome =
  /** No answer: refused, dropped, or timed out. */
  | { readonly kind: 'no_answer' }
  | {
      readonly kind: 'answer'
      readonly status: number
      /** The error object's `code`, when the answer carried one. */
      readonly code?: string | undefined
      /** The answer's Retry-After, in milliseconds. */
      readonly retryAfterMs?: number | undefined
    }

/**
 * 409s that say the request was not run, so that running it again is what the caller wants:
 * the same key is still in flight (its retry replays the outcome), or the edge routed by a
 * merchant placement that a move replaced (the retry is routed afresh).
 */
export const retriableConflictCodes: ReadonlySet<string> = new Set([
  'idempotency_key_in_use',
  'placement_stale',
  'region_not_owner',
])

/**
 * 500 (nothing was kept: the region releases the key of a request that failed), and the answers of
 * an unreachable or overloaded region or dependency. A 501 or 505 would not change on a retry.
 */
export const retriableServerStatuses: ReadonlySet<number> = new Set([500, 502, 503, 504])

export function isRetriable(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'no_answer') return true
  if (outcome.status === 429) return true
  if (outcome.status === 409) return retriableConflictCodes.has(outcome.code ?? '')
  return retriableServerStatuses.has(outcome.status)
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(max, initial · 2^retry)]. Full jitter
 * spreads clients that failed together (a region outage fails thousands at once) over the whole
 * window, instead of bringing them back in waves.
 */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.retryDelayMsMax, policy.retryDelayMsInitial * 2 ** retry)
  return Math.floor(random() * ceiling)
}

/**
 * How long to wait before retry number `retry` (0 for the first), or undefined when the call must
 * not be retried: the outcome is final, the retries are spent, or the server asked for a wait
 * beyond `retryAfterMsMax`. A Retry-After is a floor: never retry before the server said to.
 */
export function retryDelayMs(
  retry: number,
  outcome: AttemptOutcome,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (retry >= policy.maxRetries || !isRetriable(outcome)) return undefined
  const backoff = backoffMs(retry, policy, random)
  const retryAfterMs = outcome.kind === 'answer' ? outcome.retryAfterMs : undefined
  if (retryAfterMs === undefined) return backoff
  if (retryAfterMs > policy.retryAfterMsMax) return undefined
  return Math.max(retryAfterMs, backoff)
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // An HTTP date names its day and month; Date.parse would also take "-1" as a year.
  if (!/^[a-z]{3}, /i.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMs)
}
