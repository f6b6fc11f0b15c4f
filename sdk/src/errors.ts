import type { WithResponse } from './response.ts'
import type { Payment } from './types.ts'

/**
 * Every failure the SDK reports is a `MeridianError`, one subclass per thing a caller does next
 * (fix the request, back off, check the card, retry later). Each carries what a support ticket
 * needs: the HTTP status, the error code and parameter, the request id and the Idempotency-Key
 * the call used (retry with that key and the server replays instead of acting twice).
 */
export interface ErrorInit {
  readonly message: string
  /** HTTP status; undefined when no answer came (ConnectionError). */
  readonly status?: number | undefined
  readonly type?: string | undefined
  readonly code?: string | undefined
  readonly param?: string | undefined
  readonly requestId?: string | undefined
  readonly idempotencyKey?: string | undefined
  readonly retryAfterSec?: number | undefined
  /** Fields of the error object beyond the standard ones, e.g. a payment's current `status`. */
  readonly details?: Readonly<Record<string, unknown>> | undefined
  readonly cause?: unknown
}

export class MeridianError extends Error {
  override readonly name: string = 'MeridianError'
  readonly status: number | undefined
  readonly type: string | undefined
  readonly code: string | undefined
  readonly param: string | undefined
  readonly requestId: string | undefined
  readonly idempotencyKey: string | undefined
  readonly retryAfterSec: number | undefined
  readonly details: Readonly<Record<string, unknown>>

  constructor(init: ErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    this.status = init.status
    this.type = init.type
    this.code = init.code
    this.param = init.param
    this.requestId = init.requestId
    this.idempotencyKey = init.idempotencyKey
    this.retryAfterSec = init.retryAfterSec
    this.details = init.details ?? {}
  }
}

/** 400, 404, 405, 413, 414, and a 409 about the object's state: the request must change. */
export class InvalidRequestError extends MeridianError {
  override readonly name = 'InvalidRequestError'
}

/** 401: the API key is missing, unknown, expired or revoked. */
export class AuthenticationError extends MeridianError {
  override readonly name = 'AuthenticationError'
}

/** 403: the key may not do this here (a merchant's residency, a live key on an http endpoint). */
export class PermissionError extends MeridianError {
  override readonly name = 'PermissionError'
}

/**
 * 422: the Idempotency-Key was used before with another request; or 409: a request with this key
 * is still running, and every retry the SDK made found it still running.
 */
export class IdempotencyError extends MeridianError {
  override readonly name = 'IdempotencyError'
}

/** 429 after the retries: `retryAfterSec` says when the merchant's window opens again. */
export class RateLimitError extends MeridianError {
  override readonly name = 'RateLimitError'
}

/** 5xx after the retries, or an answer that is not the API's (a proxy's HTML page). */
export class APIError extends MeridianError {
  override readonly name = 'APIError'
}

/**
 * The payment was declined at once (a fraud rule): it exists, declined, and `payment` is it; a
 * retry with the same key answers the same decline. Declines by the card network come later, as
 * `status: "declined"` and a `payment.declined` event.
 */
export class CardError extends MeridianError {
  override readonly name = 'CardError'
  /** The declined payment, with the answer's `lastResponse` (status, region, request id). */
  readonly payment: WithResponse<Payment>
  readonly declineCode: string | undefined

  constructor(init: ErrorInit & { readonly payment: WithResponse<Payment> }) {
    super(init)
    this.payment = init.payment
    this.declineCode = init.payment.decline_code ?? undefined
  }
}

/**
 * No answer: the connection was refused or dropped, or the attempt outlived `timeoutMs`. A POST
 * may have been carried out anyway; retrying with `idempotencyKey` is safe and tells which.
 */
export class ConnectionError extends MeridianError {
  override readonly name = 'ConnectionError'
  readonly timedOut: boolean

  constructor(init: ErrorInit & { readonly timedOut: boolean }) {
    super(init)
    this.timedOut = init.timedOut
  }
}

/** A webhook whose signature does not verify: forged, altered, signed with another secret, or old. */
export class SignatureVerificationError extends MeridianError {
  override readonly name = 'SignatureVerificationError'
  readonly reason: 'missing' | 'malformed' | 'stale' | 'mismatch' | 'body_invalid'

  constructor(reason: SignatureVerificationError['reason'], message: string) {
    super({ message, code: `signature_${reason}` })
    this.reason = reason
  }
}

/** What one answer with an error status says, as the error for it. */
export interface ErrorAnswer {
  readonly status: number
  readonly body: unknown
  readonly requestId: string | undefined
  readonly retryAfterSec: number | undefined
  readonly idempotencyKey: string | undefined
}

const standardFields = new Set(['type', 'code', 'message', 'param', 'request_id'])

/** The one place an error answer becomes an error class (STYLE.md §4, from the client's side). */
export function errorFromAnswer(answer: ErrorAnswer): MeridianError {
  const object = errorObjectOf(answer.body)
  const text = (key: string) => (typeof object?.[key] === 'string' ? object[key] : undefined)
  const init: ErrorInit = {
    message: text('message') ?? `HTTP ${answer.status} without Meridian's error object`,
    status: answer.status,
    type: text('type'),
    code: text('code'),
    param: text('param'),
    requestId: text('request_id') ?? answer.requestId,
    idempotencyKey: answer.idempotencyKey,
    retryAfterSec: answer.retryAfterSec,
    details: object
      ? Object.fromEntries(Object.entries(object).filter(([k]) => !standardFields.has(k)))
      : undefined,
  }
  if (object === undefined) return new APIError(init)
  if (init.type === 'idempotency_error' || init.code === 'idempotency_key_in_use')
    return new IdempotencyError(init)
  switch (answer.status) {
    case 401:
      return new AuthenticationError(init)
    case 403:
      return new PermissionError(init)
    case 429:
      return new RateLimitError(init)
  }
  if (answer.status >= 400 && answer.status < 500) return new InvalidRequestError(init)
  return new APIError(init)
}

function errorObjectOf(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined
  const error = (body as { error: unknown }).error
  return typeof error === 'object' && error !== null
    ? (error as Record<string, unknown>)
    : undefined
}
