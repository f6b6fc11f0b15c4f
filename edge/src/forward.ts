import { edgeSignatureHeader, signEdgeRequest } from '@meridian/core'
import type { FailureKind } from './health.ts'

/** Request headers a region may see; everything else the merchant sent stays at the edge. */
const forwardedRequestHeaders = ['content-type', 'idempotency-key', 'traceparent', 'tracestate']
/** Response headers the merchant may see from a region. */
const returnedResponseHeaders = [
  'content-type',
  'idempotent-replayed',
  'retry-after',
  'request-id',
  'meridian-region',
  'server-timing',
]

export interface ForwardRequest {
  readonly origin: string
  readonly region: string
  readonly method: string
  /** Path and query, exactly as signed. */
  readonly path: string
  readonly headers: Headers
  readonly body: Uint8Array
  readonly merchantId: string
  /** The API key's mode, signed for the region (live endpoints must use https). */
  readonly mode?: 'test' | 'live'
  readonly epoch: number
  readonly requestId: string
  readonly secret: string
  readonly timeoutMs: number
}

/** Set by a region on an answer the edge may retry at the next region (an outage, not the request). */
export const retryableHeader = 'meridian-retryable'
const retryableStatuses = new Set([502, 503, 504])

/**
 * `ok` answers are returned to the merchant as they are. `counts` says whether the answer tells
 * anything about the region's health: a 500 the request caused (or any 4xx) does not, so one
 * merchant's poison input neither marks a region down nor moves anyone's traffic.
 */
export type ForwardOutcome =
  | { readonly ok: true; readonly response: Response; readonly counts: boolean }
  | {
      readonly ok: false
      readonly kind: FailureKind
      readonly detail: string
      readonly response?: Response
    }

function classify(error: unknown): { kind: FailureKind; detail: string } {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const timedOut =
    error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
  return { kind: timedOut ? 'timeout' : 'refused', detail: text }
}

/**
 * One attempt at one region, signed as the region expects. A failure (retried at the next region
 * and counted against this one's health) is a transport error, a timeout, or a 502/503/504 the
 * region marked `Meridian-Retryable: true`. Any other answer, a plain 500 included, is final.
 */
export async function forward(r: ForwardRequest): Promise<ForwardOutcome> {
  const headers = new Headers()
  for (const name of forwardedRequestHeaders) {
    const value = r.headers.get(name)
    if (value !== null) headers.set(name, value)
  }
  headers.set('request-id', r.requestId)
  headers.set(
    edgeSignatureHeader,
    await signEdgeRequest(r.secret, {
      method: r.method,
      path: r.path,
      merchantId: r.merchantId,
      epoch: r.epoch,
      region: r.region,
      ...(r.mode ? { mode: r.mode } : {}),
      body: r.body,
    }),
  )
  let response: Response
  try {
    response = await fetch(`${r.origin}${r.path}`, {
      method: r.method,
      headers,
      ...(r.body.byteLength > 0 ? { body: r.body } : {}),
      signal: AbortSignal.timeout(r.timeoutMs),
    })
  } catch (error) {
    return { ok: false, ...classify(error) }
  }
  const out = new Headers()
  for (const name of returnedResponseHeaders) {
    const value = response.headers.get(name)
    if (value !== null) out.set(name, value)
  }
  const proxied = new Response(response.body, { status: response.status, headers: out })
  const retryable =
    retryableStatuses.has(response.status) && response.headers.get(retryableHeader) === 'true'
  if (retryable)
    return { ok: false, kind: 'server_error', detail: `HTTP ${response.status}`, response: proxied }
  return { ok: true, response: proxied, counts: response.status < 500 }
}
