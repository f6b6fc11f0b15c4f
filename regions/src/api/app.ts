import { buildOpenApi, errors, MeridianError, toHttpError } from '@meridian/core'
import { isDatabaseUnavailable, type Logger } from '@meridian/platform'
import { type Context, Hono } from 'hono'
import type { Metrics } from '../metrics.ts'
import type { MerchantService } from '../payments/merchant.ts'
import type { ApiResult } from '../payments/outcomes.ts'
import type { PlacementService } from '../payments/placements.ts'
import type { PaymentService } from '../payments/service.ts'
import type { ApiEnv } from './context.ts'
import { internalApp } from './internal.ts'
import {
  edgeSignature,
  idempotencyKeyOf,
  jsonBody,
  pathId,
  queryOf,
  requestContext,
} from './middleware.ts'

export interface RegionAppDeps {
  readonly region: string
  readonly payments: PaymentService
  readonly merchants: MerchantService
  /** The control plane's endpoints (/internal/v1). */
  readonly placements: PlacementService
  readonly edgeSecret: () => string
  readonly log: Logger
  readonly metrics: Metrics
  /** Readiness: can this region accept writes right now? */
  readonly ready: () => Promise<{ ok: boolean; checks: Record<string, string> }>
}

/** The region's own time so far, for Server-Timing: a caller can tell it from the hops'. */
function appTiming(c: Context<ApiEnv>): string {
  return `app;dur=${(performance.now() - c.get('startedMs')).toFixed(2)}`
}

/**
 * A route's answer with every header the middleware would add (Request-Id, Meridian-Region,
 * Server-Timing), made in one go: the hot path never edits a response's headers afterwards.
 */
function answer(region: string) {
  return (c: Context<ApiEnv>, result: ApiResult): Response => {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Request-Id': c.get('requestId'),
      'Meridian-Region': region,
      'Server-Timing': appTiming(c),
    }
    if (result.replayed) headers['Idempotent-Replayed'] = 'true'
    c.set('headed', true)
    return new Response(result.body, { status: result.status, headers })
  }
}

/** The region's HTTP surface: the public v1 API (edge-signed only) plus operations endpoints. */
export function createRegionApp(deps: RegionAppDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>()
  const openapi = JSON.stringify(buildOpenApi())
  app.use('*', requestContext(deps.region))
  app.use('*', async (c, next) => {
    await next()
    deps.metrics.httpSeconds.observe(
      { method: c.req.method, route: c.req.routePath, status: String(c.res.status) },
      (performance.now() - c.get('startedMs')) / 1000,
    )
    if (!c.get('headed')) c.res.headers.append('Server-Timing', appTiming(c))
  })

  app.onError((thrown, c) => {
    const requestId = c.get('requestId')
    let error = thrown
    if (isDatabaseUnavailable(thrown)) {
      // An outage, not a bug: a 503 the edge fails over on and clients retry.
      deps.log.warn('database unavailable', { requestId, path: c.req.path, error: thrown.message })
      error = errors.dependencyUnavailable('database', thrown)
    } else if (!(thrown instanceof MeridianError)) {
      deps.log.error('unhandled error', { error: thrown, requestId, path: c.req.path })
    }
    const http = toHttpError(error, requestId)
    // An outage (dependency unavailable): the edge may retry it at the next region and count it
    // against this region's health. A 500 the request caused is never marked.
    const headers: Record<string, string> = { ...http.headers }
    if (error instanceof MeridianError && error.kind === 'unavailable')
      headers['Meridian-Retryable'] = 'true'
    return c.json(http.body, http.status as 500, headers)
  })
  app.notFound((c) => {
    throw new MeridianError({
      kind: 'not_found',
      code: 'route_missing',
      message: `No route ${c.req.method} ${c.req.path}.`,
    })
  })

  app.get('/healthz', (c) => c.json({ status: 'ok', region: deps.region }))
  app.get('/readyz', async (c) => {
    const state = await deps.ready()
    return c.json(
      { status: state.ok ? 'ready' : 'unavailable', region: deps.region, checks: state.checks },
      state.ok ? 200 : 503,
    )
  })
  app.get('/metrics', async (c) =>
    c.body(await deps.metrics.registry.metrics(), 200, {
      'Content-Type': deps.metrics.registry.contentType,
    }),
  )
  app.get('/openapi.json', (c) => c.body(openapi, 200, { 'Content-Type': 'application/json' }))

  const send = answer(deps.region)
  const v1 = new Hono<ApiEnv>()
  v1.use('*', edgeSignature(deps.edgeSecret, deps.region))
  const caller = (c: Parameters<typeof idempotencyKeyOf>[0]) => ({
    merchantId: c.get('merchantId'),
    idempotencyKey: idempotencyKeyOf(c),
    epoch: c.get('epoch'),
  })
  v1.post('/payments', async (c) => send(c, await deps.payments.create(caller(c), jsonBody(c))))
  v1.get('/payments', async (c) =>
    send(c, await deps.payments.list(c.get('merchantId'), queryOf(c))),
  )
  v1.get('/payments/:id', async (c) =>
    send(c, await deps.payments.retrieve(c.get('merchantId'), pathId(c, 'payment'))),
  )
  v1.post('/payments/:id/capture', async (c) =>
    send(c, await deps.payments.capture(caller(c), pathId(c, 'payment'), jsonBody(c))),
  )
  v1.post('/payments/:id/cancel', async (c) =>
    send(c, await deps.payments.cancel(caller(c), pathId(c, 'payment'), jsonBody(c))),
  )
  v1.post('/payments/:id/refunds', async (c) =>
    send(c, await deps.payments.refund(caller(c), pathId(c, 'payment'), jsonBody(c))),
  )
  v1.get('/balance', async (c) => send(c, await deps.merchants.balance(c.get('merchantId'))))
  v1.post('/webhook_endpoints', async (c) =>
    send(
      c,
      await deps.merchants.createWebhookEndpoint(caller(c), jsonBody(c), c.get('mode') === 'live'),
    ),
  )
  v1.get('/webhook_endpoints', async (c) =>
    send(c, await deps.merchants.listWebhookEndpoints(c.get('merchantId'))),
  )
  v1.post('/webhook_endpoints/:id/replay', async (c) =>
    send(
      c,
      await deps.merchants.replayWebhooks(caller(c), pathId(c, 'webhook endpoint'), jsonBody(c)),
    ),
  )
  v1.post('/webhook_endpoints/:id/roll_secret', async (c) =>
    send(
      c,
      await deps.merchants.rollWebhookSecret(caller(c), pathId(c, 'webhook endpoint'), jsonBody(c)),
    ),
  )
  app.route('/v1', v1)
  app.route('/internal/v1', internalApp(deps, deps.placements))
  return app
}
