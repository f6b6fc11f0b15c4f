import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AttemptOutcome,
  backoffMs,
  isRetriable,
  parseRetryAfterMs,
  type RetryPolicy,
  retryDefaults,
  retryDelayMs,
} from './retry.ts'

const policy: RetryPolicy = {
  maxRetries: 10,
  retryDelayMsInitial: 100,
  retryDelayMsMax: 2_000,
  retryAfterMsMax: 30_000,
}
const answer = (status: number, code?: string, retryAfterMs?: number): AttemptOutcome => ({
  kind: 'answer',
  status,
  code,
  retryAfterMs,
})
/** A random source pinned to one value: the jitter's extremes, exactly. */
const always = (value: number) => () => value

describe('backoff', () => {
  it('stays within [0, min(max, initial · 2^retry)) for any draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, draw) => {
          const ceiling = Math.min(policy.retryDelayMsMax, policy.retryDelayMsInitial * 2 ** retry)
          const delay = backoffMs(retry, policy, always(draw))
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThan(ceiling)
          expect(Number.isInteger(delay)).toBe(true)
        },
      ),
    )
  })

  it('doubles its ceiling each retry until the cap, then stays there', () => {
    const top = always(0.999_999)
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((r) => backoffMs(r, policy, top))).toEqual([
      99, 199, 399, 799, 1599, 1999, 1999, 1999,
    ])
  })

  it('is full jitter: the whole window, down to no wait at all', () => {
    expect(backoffMs(3, policy, always(0))).toBe(0)
    expect(backoffMs(3, policy, always(0.5))).toBe(400)
    // Drawn from the real source: spread over the window, not bunched at one end.
    const draws = Array.from({ length: 2_000 }, () => backoffMs(4, policy, Math.random))
    expect(Math.min(...draws)).toBeLessThan(160)
    expect(Math.max(...draws)).toBeGreaterThan(1_440)
  })
})

describe('which outcomes are retried', () => {
  it('no answer at all (refused, dropped, timed out)', () => {
    expect(isRetriable({ kind: 'no_answer' })).toBe(true)
  })

  it('429, and the 5xx of an unreachable or failing region', () => {
    for (const status of [429, 500, 502, 503, 504]) expect(isRetriable(answer(status))).toBe(true)
  })

  it('a 409 only when the request was not run: key in flight, stale routing', () => {
    expect(isRetriable(answer(409, 'idempotency_key_in_use'))).toBe(true)
    expect(isRetriable(answer(409, 'placement_stale'))).toBe(true)
    expect(isRetriable(answer(409, 'region_not_owner'))).toBe(true)
    // The payment's state rules the operation out: that is the answer, retrying changes nothing.
    expect(isRetriable(answer(409, 'payment_invalid_state'))).toBe(false)
    expect(isRetriable(answer(409))).toBe(false)
  })

  it('never an answer the request itself caused, nor a success', () => {
    for (const status of [200, 202, 400, 401, 403, 404, 405, 413, 414, 422, 501, 505])
      expect(isRetriable(answer(status)), String(status)).toBe(false)
  })
})

describe('retryDelayMs', () => {
  it('stops when the retries are spent', () => {
    const twice = { ...policy, maxRetries: 2 }
    expect(retryDelayMs(0, answer(503), twice, always(0))).toBe(0)
    expect(retryDelayMs(1, answer(503), twice, always(0))).toBe(0)
    expect(retryDelayMs(2, answer(503), twice, always(0))).toBeUndefined()
    expect(retryDelayMs(0, answer(503), { ...policy, maxRetries: 0 }, always(0))).toBeUndefined()
  })

  it('never retries before Retry-After; a longer backoff still counts', () => {
    expect(retryDelayMs(0, answer(429, 'rate_limited', 3_000), policy, always(0.9))).toBe(3_000)
    expect(retryDelayMs(5, answer(503, undefined, 1_000), policy, always(0.9))).toBe(1_800)
  })

  it('gives up rather than wait a Retry-After beyond retryAfterMsMax', () => {
    expect(retryDelayMs(0, answer(429, 'rate_limited', 30_001), policy, always(0))).toBeUndefined()
    expect(retryDelayMs(0, answer(429, 'rate_limited', 30_000), policy, always(0))).toBe(30_000)
  })

  it('has safe defaults: a few retries, bounded waits', () => {
    expect(retryDefaults.maxRetries).toBeGreaterThan(0)
    expect(retryDefaults.retryDelayMsMax).toBeGreaterThanOrEqual(retryDefaults.retryDelayMsInitial)
  })
})

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-12-06T10:00:00Z')
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfterMs('2', now)).toBe(2_000)
    expect(parseRetryAfterMs(' 0 ', now)).toBe(0)
    expect(parseRetryAfterMs('Sun, 06 Dec 2026 10:00:05 GMT', now)).toBe(5_000)
    expect(parseRetryAfterMs('Sun, 06 Dec 2026 09:00:00 GMT', now)).toBe(0)
  })
  it('ignores what it cannot read', () => {
    expect(parseRetryAfterMs(null, now)).toBeUndefined()
    expect(parseRetryAfterMs('soon', now)).toBeUndefined()
    expect(parseRetryAfterMs('-1', now)).toBeUndefined()
  })
})
