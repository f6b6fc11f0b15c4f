import { type IdempotencyDecision, MeridianError } from '@meridian/core'

/** What an API operation answers: the status and exact body, and whether it is a replay. */
export interface ApiResult {
  readonly status: number
  readonly body: string
  readonly replayed: boolean
}

/** A repeated key that is not a fresh request: replay it, or refuse it with the right error. */
export function answerDecision(decision: Exclude<IdempotencyDecision, { kind: 'new' }>): ApiResult {
  switch (decision.kind) {
    case 'replay':
      return { status: decision.status, body: decision.body, replayed: true }
    case 'mismatch':
      throw new MeridianError({
        kind: 'idempotency_mismatch',
        code: 'idempotency_key_reused',
        message:
          'This Idempotency-Key was already used with a different request. Use a new key for a new request.',
      })
    case 'in_flight':
      throw new MeridianError({
        kind: 'conflict',
        code: 'idempotency_key_in_use',
        message:
          'A request with this Idempotency-Key is still being processed. Retry after it completes.',
      })
  }
}

export function rateLimited(retryAfterMs: number): MeridianError {
  return new MeridianError({
    kind: 'rate_limited',
    code: 'rate_limited',
    message: 'Too many requests for this merchant. Retry after the time in Retry-After.',
    retryAfterSec: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  })
}

export function ok(status: number, body: unknown): ApiResult {
  return { status, body: JSON.stringify(body), replayed: false }
}
