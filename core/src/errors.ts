/**
 * The closed set of errors Meridian reports to callers, and the one place they become HTTP
 * (STYLE.md §4). Each error kind has exactly one status and one public `type`, so a client can
 * switch on either. `retriable` lives on the error; the one bounded retrier reads it (§5).
 */
export const errorKinds = {
  invalid_request: { status: 400, type: 'invalid_request_error', retriable: false },
  authentication: { status: 401, type: 'authentication_error', retriable: false },
  permission: { status: 403, type: 'permission_error', retriable: false },
  not_found: { status: 404, type: 'not_found_error', retriable: false },
  conflict: { status: 409, type: 'conflict_error', retriable: false },
  method_not_allowed: { status: 405, type: 'invalid_request_error', retriable: false },
  payload_too_large: { status: 413, type: 'invalid_request_error', retriable: false },
  uri_too_long: { status: 414, type: 'invalid_request_error', retriable: false },
  idempotency_mismatch: { status: 422, type: 'idempotency_error', retriable: false },
  rate_limited: { status: 429, type: 'rate_limit_error', retriable: true },
  internal: { status: 500, type: 'api_error', retriable: true },
  unavailable: { status: 503, type: 'unavailable_error', retriable: true },
} as const

export type ErrorKind = keyof typeof errorKinds

/** Machine-readable codes: the stable part of the contract that clients branch on. */
export type ErrorCode =
  | 'body_invalid_json'
  | 'body_too_large'
  | 'request_malformed'
  | 'method_not_allowed'
  | 'url_too_long'
  | 'parameter_missing'
  | 'parameter_invalid'
  | 'parameter_unknown'
  | 'amount_invalid'
  | 'currency_invalid'
  | 'idempotency_key_missing'
  | 'idempotency_key_invalid'
  | 'payment_id_invalid'
  | 'idempotency_key_reused'
  | 'idempotency_key_in_use'
  | 'payment_invalid_state'
  | 'amount_exceeds_capturable'
  | 'amount_exceeds_refundable'
  | 'resource_missing'
  | 'route_missing'
  | 'api_key_missing'
  | 'api_key_invalid'
  | 'signature_missing'
  | 'signature_invalid'
  | 'signature_expired'
  | 'region_not_owner'
  | 'placement_invalid'
  | 'placement_stale'
  | 'merchant_moving'
  | 'merchant_residency'
  | 'merchant_exists'
  | 'move_in_progress'
  | 'operator_key_missing'
  | 'operator_key_invalid'
  | 'rate_limited'
  | 'region_unavailable'
  | 'dependency_unavailable'
  | 'internal'

export interface MeridianErrorInit {
  readonly kind: ErrorKind
  readonly code: ErrorCode
  readonly message: string
  readonly param?: string
  /** Extra fields safe to show the caller, e.g. the payment's current status on a 409. */
  readonly details?: Readonly<Record<string, string | number | boolean>>
  /** Seconds the caller should wait before retrying (429, 503). */
  readonly retryAfterSec?: number
  readonly cause?: unknown
}

export class MeridianError extends Error {
  override readonly name = 'MeridianError'
  readonly kind: ErrorKind
  readonly code: ErrorCode
  readonly param: string | undefined
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined
  readonly retryAfterSec: number | undefined

  constructor(init: MeridianErrorInit) {
    // These are expected outcomes (bad input, conflicts), raised on hot paths: skip the stack
    // trace, which costs more than the rest of a rejected request. Causes keep their own.
    // stackTraceLimit is V8's (Node and workerd both run V8); the standard typings lack it.
    const v8 = Error as { stackTraceLimit?: number | undefined }
    const limit = v8.stackTraceLimit
    v8.stackTraceLimit = 0
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    v8.stackTraceLimit = limit
    this.kind = init.kind
    this.code = init.code
    this.param = init.param
    this.details = init.details
    this.retryAfterSec = init.retryAfterSec
  }

  get status(): number {
    return errorKinds[this.kind].status
  }

  get retriable(): boolean {
    return errorKinds[this.kind].retriable
  }
}

export function isMeridianError(value: unknown): value is MeridianError {
  return value instanceof MeridianError
}

export interface ErrorBody {
  readonly error: {
    readonly type: string
    readonly code: ErrorCode
    readonly message: string
    readonly param?: string
    readonly request_id: string
    readonly [detail: string]: string | number | boolean | undefined
  }
}

export interface HttpError {
  readonly status: number
  readonly body: ErrorBody
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Turn anything thrown into the public error object. Unknown errors become a 500 whose message
 * says nothing about the cause: the cause belongs in the log, never in a response.
 */
export function toHttpError(error: unknown, requestId: string): HttpError {
  const known = isMeridianError(error)
    ? error
    : new MeridianError({ kind: 'internal', code: 'internal', message: 'Internal error.' })
  const spec = errorKinds[known.kind]
  const headers: Record<string, string> = {}
  if (known.retryAfterSec !== undefined) headers['Retry-After'] = String(known.retryAfterSec)
  return {
    status: spec.status,
    headers,
    body: {
      error: {
        ...known.details,
        type: spec.type,
        code: known.code,
        message: known.message,
        ...(known.param === undefined ? {} : { param: known.param }),
        request_id: requestId,
      },
    },
  }
}

/** Shorthands for the errors raised most often; each still names its code explicitly. */
export const errors = {
  invalidRequest(code: ErrorCode, message: string, param?: string): MeridianError {
    return new MeridianError({
      kind: 'invalid_request',
      code,
      message,
      ...(param === undefined ? {} : { param }),
    })
  },
  notFound(what: string, id: string): MeridianError {
    return new MeridianError({
      kind: 'not_found',
      code: 'resource_missing',
      message: `No such ${what}: '${id}'.`,
      param: 'id',
    })
  },
  /** A dependency (the database) is out of reach: nothing was done, and the same request may be retried. */
  dependencyUnavailable(what: string, cause: unknown): MeridianError {
    return new MeridianError({
      kind: 'unavailable',
      code: 'dependency_unavailable',
      message: `The region's ${what} is unavailable; nothing was changed. Retry the request with the same Idempotency-Key.`,
      retryAfterSec: 1,
      cause,
    })
  },
  invalidState(id: string, status: string, action: string): MeridianError {
    return new MeridianError({
      kind: 'conflict',
      code: 'payment_invalid_state',
      message: `Payment ${id} cannot be ${action} because its status is ${status}.`,
      details: { status },
    })
  },
}
