import { backoffDelayMs, fullJitter, sleep } from './backoff.ts'

/** The one bounded retrier (STYLE.md §5): it retries only what says `retriable`. */
export interface RetryOptions {
  readonly attemptsMax: number
  readonly retryDelayMsBase: number
  readonly retryDelayMsMax: number
}

export const retryDefaults: RetryOptions = {
  attemptsMax: 4,
  retryDelayMsBase: 100,
  retryDelayMsMax: 2000,
}

/** Exponential backoff with full jitter: a random delay up to base·2^attempt, capped. */
export function backoffMs(
  attempt: number,
  options: RetryOptions,
  random: () => number = Math.random,
): number {
  const backoff = {
    delayMsMin: options.retryDelayMsBase,
    delayMsMax: options.retryDelayMsMax,
    jitter: fullJitter,
  }
  return backoffDelayMs(attempt, backoff, random)
}

export async function withRetry<T>(
  work: (attempt: number) => Promise<T>,
  options: RetryOptions = retryDefaults,
  onRetry: (error: unknown, attempt: number) => void = () => {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work(attempt)
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true
      if (!retriable || attempt + 1 >= options.attemptsMax) throw error
      onRetry(error, attempt)
      const hinted = (error as { retryAfterMs?: number }).retryAfterMs
      await sleep(Math.max(hinted ?? 0, backoffMs(attempt, options)))
    }
  }
}
