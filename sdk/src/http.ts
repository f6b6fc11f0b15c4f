import { ConnectionError, errorFromAnswer, type MeridianError } from './errors.ts'
import type { ResponseInfo, WithResponse } from './response.ts'
import { type AttemptOutcome, parseRetryAfterMs, type RetryPolicy, retryDelayMs } from './retry.ts'

/** What every call of one client shares. */
export interface Transport {
  readonly baseUrl: string
  /** A function, not a field: a client printed or serialized (logs, errors) shows no key. */
  readonly authorization: () => string
  readonly fetch: typeof fetch
  readonly policy: RetryPolicy
  readonly timeoutMs: number
  readonly random: () => number
  readonly onAttempt: ((attempt: AttemptInfo) => void) | undefined
}

/** Options of one call: they override the client's for that call only. */
export interface RequestOptions {
  /** The POST's Idempotency-Key; generated when not given. Every retry of the call reuses it. */
  readonly idempotencyKey?: string
  /** Per attempt: an attempt still unanswered after this long is abandoned (and may be retried). */
  readonly timeoutMs?: number
  readonly maxRetries?: number
  /** Stops the call, retries included; the call rejects with the signal's reason, as fetch does. */
  readonly signal?: AbortSignal
}

/** One attempt as the client saw it: for logs, metrics and load generators (`onAttempt`). */
export interface AttemptInfo {
  readonly method: string
  readonly path: string
  readonly idempotencyKey: string | undefined
  /** 0 for the first attempt of a call. */
  readonly attempt: number
  readonly sentAtMs: number
  readonly latencyMs: number
  /** HTTP status, or 0 when no answer came. */
  readonly status: number
  /** Which region answered (Meridian-Region), when one did. */
  readonly region: string | undefined
  readonly requestId: string | undefined
  /** The attempt's failure, when it failed. */
  readonly error: MeridianError | undefined
  /** When the SDK will try again: after this many milliseconds. */
  readonly retryInMs: number | undefined
}

export interface Call {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly query?: Readonly<Record<string, string | number | undefined>> | undefined
  readonly body?: unknown
}

type Attempted =
  | {
      readonly ok: true
      readonly status: number
      readonly value: unknown
      readonly headers: Headers
    }
  | {
      readonly ok: false
      readonly error: MeridianError
      readonly outcome: AttemptOutcome
      readonly headers: Headers | undefined
    }

/** A key no other call of any client will draw: a random UUID (122 random bits). */
export function newIdempotencyKey(): string {
  return crypto.randomUUID()
}

/** Run one call: attempts and retries until an answer is final or the retries are spent. */
export async function request<T>(
  transport: Transport,
  call: Call,
  options: RequestOptions = {},
): Promise<WithResponse<T>> {
  const idempotencyKey =
    call.method === 'POST' ? (options.idempotencyKey ?? newIdempotencyKey()) : undefined
  const policy =
    options.maxRetries === undefined
      ? transport.policy
      : { ...transport.policy, maxRetries: options.maxRetries }
  const url = urlOf(transport.baseUrl, call)
  const headers: Record<string, string> = {
    Authorization: transport.authorization(),
    Accept: 'application/json',
  }
  // Identical bytes on every attempt: the server's fingerprint of the request must match.
  const body = call.method === 'POST' ? JSON.stringify(call.body ?? {}) : undefined
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey
  const timeoutMs = options.timeoutMs ?? transport.timeoutMs
  for (let attempt = 0; ; attempt++) {
    const sentAtMs = Date.now()
    const started = performance.now()
    const result = await attemptOnce(transport.fetch, url, {
      method: call.method,
      headers,
      body,
      timeoutMs,
      signal: options.signal,
      idempotencyKey,
    })
    const latencyMs = performance.now() - started
    const retryInMs = result.ok
      ? undefined
      : retryDelayMs(attempt, result.outcome, policy, transport.random)
    const requestId = result.headers?.get('Request-Id') ?? undefined
    const region = result.headers?.get('Meridian-Region') ?? undefined
    transport.onAttempt?.({
      method: call.method,
      path: call.path,
      idempotencyKey,
      attempt,
      sentAtMs,
      latencyMs,
      status: result.ok ? result.status : (result.error.status ?? 0),
      region,
      requestId,
      error: result.ok ? undefined : result.error,
      retryInMs,
    })
    if (result.ok) {
      const info: ResponseInfo = {
        status: result.status,
        requestId,
        region,
        idempotencyKey,
        replayed: result.headers.get('Idempotent-Replayed') === 'true',
        attempts: attempt + 1,
      }
      return withResponse(result.value as T, info)
    }
    if (options.signal?.aborted) throw options.signal.reason
    if (retryInMs === undefined) throw result.error
    await sleep(retryInMs, options.signal)
  }
}

function urlOf(baseUrl: string, call: Call): string {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(call.query ?? {}))
    if (value !== undefined) query.set(name, String(value))
  const search = query.toString()
  return `${baseUrl}${call.path}${search === '' ? '' : `?${search}`}`
}

interface AttemptInit {
  readonly method: string
  readonly headers: Record<string, string>
  readonly body: string | undefined
  readonly timeoutMs: number
  readonly signal: AbortSignal | undefined
  readonly idempotencyKey: string | undefined
}

/** Told apart from the caller's abort, which is never retried. Named as fetch's own timeouts. */
class AttemptTimeout extends Error {
  override readonly name = 'TimeoutError'
}

async function attemptOnce(
  fetchFn: typeof fetch,
  url: string,
  init: AttemptInit,
): Promise<Attempted> {
  const controller = new AbortController()
  const timer = setTimeout(
    () => controller.abort(new AttemptTimeout(`no answer in ${init.timeoutMs} ms`)),
    init.timeoutMs,
  )
  const onAbort = () => controller.abort(init.signal?.reason)
  if (init.signal?.aborted) onAbort()
  init.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const response = await fetchFn(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: controller.signal,
    })
    // The body is part of the answer: a connection dropped while it streams is no answer.
    const text = await response.text()
    return answered(response, text, init.idempotencyKey)
  } catch (cause) {
    const timedOut = controller.signal.reason instanceof AttemptTimeout
    const error = new ConnectionError({
      message: timedOut
        ? `No answer from Meridian within ${init.timeoutMs} ms.`
        : `Could not reach Meridian: ${cause instanceof Error ? cause.message : String(cause)}`,
      idempotencyKey: init.idempotencyKey,
      timedOut,
      cause,
    })
    return { ok: false, error, outcome: { kind: 'no_answer' }, headers: undefined }
  } finally {
    clearTimeout(timer)
    init.signal?.removeEventListener('abort', onAbort)
  }
}

function answered(response: Response, text: string, idempotencyKey: string | undefined): Attempted {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  if (response.ok && value !== undefined)
    return { ok: true, status: response.status, value, headers: response.headers }
  const retryAfterMs = parseRetryAfterMs(response.headers.get('Retry-After'), Date.now())
  const error = errorFromAnswer({
    status: response.status,
    body: value,
    requestId: response.headers.get('Request-Id') ?? undefined,
    retryAfterSec: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
    idempotencyKey,
  })
  return {
    ok: false,
    error,
    outcome: { kind: 'answer', status: response.status, code: error.code, retryAfterMs },
    headers: response.headers,
  }
}

function withResponse<T>(value: T, info: ResponseInfo): WithResponse<T> {
  Object.defineProperty(value, 'lastResponse', { value: info, enumerable: false })
  return value as WithResponse<T>
}

/** A wait the caller's signal cuts short (the call then rejects with the signal's reason). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const done = () => {
      signal?.removeEventListener('abort', aborted)
      resolve()
    }
    const timer = setTimeout(done, ms)
    const aborted = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', aborted, { once: true })
  })
}
