import {
  bodyBytesMax,
  decodeUtf8,
  edgeSignatureHeader,
  errors,
  idempotencyKeyHeader,
  idempotencyKeyPattern,
  MeridianError,
  newId,
  parseJsonObject,
  textError,
  textProblem,
  verifyEdgeSignature,
} from '@meridian/core'
import type { Context, MiddlewareHandler } from 'hono'
import type { ApiEnv } from './context.ts'

const requestIdPattern = /^req_[0-9a-z]{26}$/

/** Reuse the edge's Request-Id so one id follows a request through every hop; else mint one. */
export function requestContext(region: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const incoming = c.req.header('Request-Id')
    const requestId = incoming && requestIdPattern.test(incoming) ? incoming : newId('request')
    c.set('requestId', requestId)
    c.set('startedMs', performance.now())
    await next()
    // A response the routes made whole already has them: touching c.res.headers would turn
    // the server's cached plain-object headers into a Headers object for nothing.
    if (c.get('headed')) return
    c.res.headers.set('Request-Id', requestId)
    c.res.headers.set('Meridian-Region', region)
  }
}

function unauthenticated(
  code: 'signature_missing' | 'signature_invalid' | 'signature_expired',
  message: string,
) {
  return new MeridianError({ kind: 'authentication', code, message })
}

/**
 * Only the edge may call a region: read the body (bounded), check the edge's HMAC over method,
 * path, body digest, merchant and epoch, and only then trust the merchant id it names.
 */
export function edgeSignature(secret: () => string, region: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const declared = Number(c.req.header('Content-Length') ?? '0')
    if (declared > bodyBytesMax) throw tooLarge()
    const bytes = new Uint8Array(await c.req.arrayBuffer())
    if (bytes.byteLength > bodyBytesMax) throw tooLarge()
    const url = new URL(c.req.url)
    const outcome = await verifyEdgeSignature(secret(), c.req.header(edgeSignatureHeader), {
      method: c.req.method,
      path: `${url.pathname}${url.search}`,
      body: bytes,
    })
    if (!outcome.ok) {
      if (outcome.reason === 'missing') {
        throw unauthenticated(
          'signature_missing',
          'Regions accept only requests signed by the Meridian edge.',
        )
      }
      if (outcome.reason === 'expired') {
        throw unauthenticated(
          'signature_expired',
          'The edge signature is outside the accepted time window.',
        )
      }
      throw unauthenticated('signature_invalid', 'The edge signature does not match this request.')
    }
    routedHere(region, outcome.region)
    c.set('merchantId', outcome.merchantId)
    c.set('epoch', outcome.epoch)
    const text = decodeUtf8(bytes)
    if (!text.ok) throw text.error
    c.set('rawBody', text.value)
    c.set('mode', outcome.mode ?? 'test')
    await next()
  }
}

/**
 * The signature names the region the edge chose: a request meant for another region must not be
 * served here. The epoch it chose by is checked where it can be checked safely, inside each
 * write's transaction (store/placements.ts admission), never here: a fence may commit between
 * a check here and the write's commit.
 */
function routedHere(self: string, target: string): void {
  if (target !== self) {
    throw new MeridianError({
      kind: 'conflict',
      code: 'region_not_owner',
      message: `This request was routed to ${target}; this region is ${self}.`,
    })
  }
}

function tooLarge(): MeridianError {
  return new MeridianError({
    kind: 'payload_too_large',
    code: 'body_too_large',
    message: `Request bodies are limited to ${bodyBytesMax} bytes.`,
  })
}

/** POSTs must carry a well-formed Idempotency-Key. */
export function idempotencyKeyOf(c: Context<ApiEnv>): string {
  const key = c.req.header(idempotencyKeyHeader)
  if (key === undefined || key === '') {
    throw errors.invalidRequest(
      'idempotency_key_missing',
      'POST requests require an Idempotency-Key header; retry with a unique key per operation.',
    )
  }
  if (!idempotencyKeyPattern.test(key)) {
    throw errors.invalidRequest(
      'idempotency_key_invalid',
      'Idempotency-Key must be 1 to 255 visible ASCII characters.',
    )
  }
  return key
}

export function jsonBody(c: Context<ApiEnv>): Record<string, unknown> {
  const parsed = parseJsonObject(c.get('rawBody'))
  if (!parsed.ok) throw parsed.error
  return parsed.value
}

/** Query parameters, refused (naming the parameter) unless every name and value is storable text. */
export function queryOf(c: Context<ApiEnv>): Record<string, string> {
  const query = c.req.query()
  const bad = textError(query)
  if (bad) throw bad
  return query
}

/**
 * A path id: no object's id holds text we could not store, so such an id names nothing (404),
 * and never reaches a query that would fail on it.
 */
export function pathId(c: Context<ApiEnv>, what: string): string {
  const id = c.req.param('id') ?? ''
  if (textProblem(id)) throw errors.notFound(what, id)
  return id
}
