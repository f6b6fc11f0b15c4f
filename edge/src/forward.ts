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

/** How the edge reaches a region: the runtime's fetch, or a test's stand-in for the regions. */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>

/** Set by a region on an answer the edge may retry at the next region (an outage, not the request). */
export const retryableHeader = 'meridian-retryable'
const retryableStatuses = new Set([502, 503, 504])

/**
 * A region's refusal of a write routed by a placement it knows to be old or being left
 * (core's `writeRefusal`): the edge re-reads the placement and routes again. Each code with the
 * one status it comes with.
 */
export const placementRefusals = { merchant_moving: 503, placement_stale: 409 } as const
export type PlacementRefusal = keyof typeof placementRefusals

/**
 * `answered`: returned to the merchant as it is; `counts` says whether the answer tells anything
 * about the region's health: a 500 the request caused (or any 4xx) does not, so one merchant's
 * poison input neither marks a region down nor moves anyone's traffic.
 * `failed`: an outage; counted against the region, and a retriable request goes to the next one.
 * `refused`: the region is healthy and refused the placement the request was routed by; it says
 * nothing about the region's health, and the next region must not take the write instead.
 */
export type ForwardOutcome =
  | { readonly result: 'answered'; readonly response: Response; readonly counts: boolean }
  | {
      readonly result: 'failed'
      readonly kind: FailureKind
      readonly detail: string
      readonly response?: Response
    }
  | { readonly result: 'refused'; readonly refusal: PlacementRefusal; readonly response: Response }

/** Error bodies are small JSON objects; a bigger one is not a refusal and is not read whole. */
const refusalBodyBytesMax = 16_384

/** The refusal code of an answer, if it is one (status, JSON `error.code`, core/src/errors.ts). */
export function refusalOf(status: number, bodyText: string): PlacementRefusal | undefined {
  let code: unknown
  try {
    code = (JSON.parse(bodyText) as { error?: { code?: unknown } } | null)?.error?.code
  } catch {
    return undefined
  }
  for (const [refusal, refusalStatus] of Object.entries(placementRefusals))
    if (code === refusal && status === refusalStatus) return refusal as PlacementRefusal
  return undefined
}

const mayBeRefusal = (status: number) =>
  Object.values(placementRefusals).some((refusalStatus) => refusalStatus === status)

function classify(error: unknown): { kind: FailureKind; detail: string } {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const timedOut =
    error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
  return { kind: timedOut ? 'timeout' : 'refused', detail: text }
}

/**
 * One attempt at one region, signed as the region expects. A failure (retried at the next region
 * and counted against this one's health) is a transport error, a timeout, or a 502/503/504 the
 * region marked `Meridian-Retryable: true`. A placement refusal is neither a failure nor final:
 * the caller routes again by a fresh placement. Any other answer, a plain 500 included, is final.
 */
export async function forward(
  r: ForwardRequest,
  fetcher: Fetcher = (url, init) => fetch(url, init),
): Promise<ForwardOutcome> {
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
    response = await fetcher(`${r.origin}${r.path}`, {
      method: r.method,
      headers,
      ...(r.body.byteLength > 0 ? { body: r.body } : {}),
      signal: AbortSignal.timeout(r.timeoutMs),
    })
  } catch (error) {
    return { result: 'failed', ...classify(error) }
  }
  const out = new Headers()
  for (const name of returnedResponseHeaders) {
    const value = response.headers.get(name)
    if (value !== null) out.set(name, value)
  }
  // A refusal is read before the retryable check: a region may mark its 503 retryable, and
  // failing `merchant_moving` over to the next region is exactly what the fence forbids.
  const declared = Number(response.headers.get('content-length') ?? 'NaN')
  if (mayBeRefusal(response.status) && !(declared > refusalBodyBytesMax)) {
    const text = await response.text()
    const proxied = new Response(text, { status: response.status, headers: out })
    const refusal = refusalOf(response.status, text)
    if (refusal) return { result: 'refused', refusal, response: proxied }
    return settle(response, proxied)
  }
  return settle(response, new Response(response.body, { status: response.status, headers: out }))
}

function settle(response: Response, proxied: Response): ForwardOutcome {
  const retryable =
    retryableStatuses.has(response.status) && response.headers.get(retryableHeader) === 'true'
  if (retryable)
    return {
      result: 'failed',
      kind: 'server_error',
      detail: `HTTP ${response.status}`,
      response: proxied,
    }
  return { result: 'answered', response: proxied, counts: response.status < 500 }
}
