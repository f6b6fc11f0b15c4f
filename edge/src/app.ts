import {
  fleet,
  MeridianError,
  newId,
  type Placement,
  type RegionRegistry,
  routeOf,
  toHttpError,
} from '@meridian/core'
import { Hono } from 'hono'
import { operatorApi } from './control/api.ts'
import { type Env, settingsOf } from './env.ts'
import { type ForwardRequest, forward } from './forward.ts'
import { type FailureKind, HealthBoard } from './health.ts'
import { authenticate } from './keys.ts'
import type { Admission } from './lease.ts'
import { allowedMethods, checkRequestLine, readBody } from './limits.ts'
import { edgeLog } from './log.ts'
import { dropPlacement, lookupPlacement } from './placements.ts'
import { limiterFor } from './ratelimit.ts'
import { routeByPlacement } from './route.ts'

interface Vars {
  requestId: string
}

/** `Server-Timing` for each step the edge took, so a slow hop shows where it spent its time. */
class ServerTiming {
  private readonly entries: string[] = []

  async measure<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await work()
    } finally {
      this.entries.push(`${name};dur=${(performance.now() - started).toFixed(1)}`)
    }
  }

  /** A step that took no time worth measuring but must show: a limiter that was skipped. */
  note(name: string, description: string): void {
    this.entries.push(`${name};desc="${description}"`)
  }

  header(after?: string | null): string {
    return [...this.entries, ...(after ? [after] : [])].join(', ')
  }
}

/** One board per isolate: what this edge location has learned about region health. */
export const health = new HealthBoard()

function origins(env: Env, registry: RegionRegistry): Record<string, string> {
  const fromRegistry = Object.fromEntries(registry.regions.map((r) => [r.id, r.origin]))
  return { ...fromRegistry, ...settingsOf(env).regionOrigins }
}

/**
 * The merchant's budget, GitHub-style: the limit, what is left, and when the window resets (unix
 * seconds; windows are one second, so it also names the window). None when the limiter was skipped.
 */
function rateLimitHeaders(limit: Admission): [string, string][] {
  if (limit.source === 'unchecked') return []
  return [
    ['X-RateLimit-Limit', String(limit.limit)],
    ['X-RateLimit-Remaining', String(Math.max(0, limit.remaining))],
    ['X-RateLimit-Reset', String(Math.ceil(limit.reset / 1000))],
  ]
}

/** What every attempt of one request shares, whichever region and placement it goes by. */
export type RequestForward = Omit<ForwardRequest, 'origin' | 'region' | 'epoch'>

/** One attempt's forward: to `region`'s origin, signed with the epoch of the placement routed by. */
export function forwardTo(
  request: RequestForward,
  origin: string,
  region: string,
  placement: Pick<Placement, 'epoch'>,
): ForwardRequest {
  return { ...request, origin, region, epoch: placement.epoch }
}

/** Safe to send twice: reads, and writes the region deduplicates by Idempotency-Key. */
function retriable(method: string, headers: Headers): boolean {
  return method === 'GET' || method === 'HEAD' || headers.has('idempotency-key')
}

export async function probe(env: Env, region: string, timeoutMs: number): Promise<boolean> {
  const origin = origins(env, fleet)[region]
  if (!origin) return false
  try {
    const res = await fetch(`${origin}/readyz`, { signal: AbortSignal.timeout(timeoutMs) })
    await res.body?.cancel()
    if (res.ok) noteSuccess(region)
    else noteFailure(region, 'server_error')
    return res.ok
  } catch {
    noteFailure(region, 'refused')
    return false
  }
}

/** The board's transitions are what an operator looks for first: log them, not every request. */
function noteFailure(region: string, kind: FailureKind): void {
  if (health.failure(region, kind) === 'down')
    edgeLog('warn', 'region marked down', { region, kind })
}

function noteSuccess(region: string): void {
  if (health.success(region) === 'up') edgeLog('info', 'region back up', { region })
}

export function createEdgeApp(registry: RegionRegistry = fleet) {
  const app = new Hono<{ Bindings: Env; Variables: Vars }>()

  app.use('*', async (c, next) => {
    c.set('requestId', newId('request'))
    await next()
    c.res.headers.set('Request-Id', c.res.headers.get('Request-Id') ?? c.get('requestId'))
    if (!c.res.headers.has('Meridian-Region'))
      c.res.headers.set('Meridian-Region', settingsOf(c.env).edgeName)
  })
  app.onError((error, c) => {
    const http = toHttpError(error, c.get('requestId'))
    if (!(error instanceof MeridianError)) edgeLog('error', 'unhandled error', { error })
    const headers: Record<string, string> = { ...http.headers }
    if (error instanceof MeridianError && error.code === 'method_not_allowed')
      headers.Allow = allowedMethods.join(', ')
    return c.json(http.body, http.status as 500, headers)
  })

  app.get('/healthz', (c) => c.json({ status: 'ok', regions: health.snapshot() }))
  app.route('/operator/v1', operatorApi(health))

  app.all('/v1/*', async (c) => {
    checkRequestLine(c.req.raw)
    const settings = settingsOf(c.env)
    const timing = new ServerTiming()
    const background = (work: Promise<unknown>) => c.executionCtx.waitUntil(work)
    const key = await timing.measure('auth', () =>
      authenticate(c.env.API_KEYS, c.req.header('Authorization'), background),
    )
    const limit = await timing.measure('ratelimit', () =>
      limiterFor(settings.upstash, settings.rateLimitPerSec).admit(key.merchantId, background),
    )
    // Upstash did not answer in time and the request went through unchecked (fail open): say so.
    if (limit.source === 'unchecked') timing.note('ratelimit-skipped', 'limiter timed out')
    else timing.note('ratelimit-by', limit.source)
    if (!limit.success) {
      throw new MeridianError({
        kind: 'rate_limited',
        code: 'rate_limited',
        message: 'Too many requests. Retry after the time in Retry-After.',
        retryAfterSec: Math.max(1, Math.ceil((limit.reset - Date.now()) / 1000)),
      })
    }
    const url = new URL(c.req.url)
    const body = await readBody(c.req.raw)
    const requestId = c.get('requestId')
    const canRetry = retriable(c.req.method, c.req.raw.headers)
    const targets = origins(c.env, registry)
    const request: RequestForward = {
      method: c.req.method,
      path: `${url.pathname}${url.search}`,
      headers: c.req.raw.headers,
      body,
      merchantId: key.merchantId,
      mode: key.mode,
      requestId,
      secret: settings.edgeSecret,
      timeoutMs: settings.regionTimeoutMs,
    }
    const routed = await routeByPlacement({
      canRetry,
      placementWaitMsMax: settings.placementWaitMsMax,
      placement: async (fresh) => {
        const found = await timing.measure(fresh ? 'placement-fresh' : 'placement', () =>
          lookupPlacement(c.env.PLACEMENTS, registry, key.merchantId, fresh, background),
        )
        timing.note('placement-by', `${found.source} epoch ${found.placement.epoch}`)
        return found.placement
      },
      order: (placement: Placement) => {
        const route = routeOf(placement).filter((region) => targets[region] !== undefined)
        // Lazily re-probe down regions so recovery is noticed between scheduled probes.
        const due = health.dueProbes(route)
        if (due.length > 0)
          c.executionCtx.waitUntil(
            Promise.all(due.map((r) => probe(c.env, r, settings.regionTimeoutMs))),
          )
        return health.order(route, requestId, settings.failbackHealthyMs, settings.failbackRampMs)
      },
      attempt: async (region, placement) => {
        const outcome = await timing.measure(`region-${region}`, () =>
          forward(forwardTo(request, String(targets[region]), region, placement)),
        )
        // A 500 the request caused says nothing about the region: neither success nor failure.
        // Nor does a placement refusal (a healthy region enforcing a move): it never marks a
        // region down, and routeByPlacement never fails it over.
        if (outcome.result === 'answered' && outcome.counts) noteSuccess(region)
        if (outcome.result === 'failed') {
          noteFailure(region, outcome.kind)
          edgeLog(
            'warn',
            canRetry
              ? 'region failed; trying the next region'
              : 'region failed; not retrying a request without Idempotency-Key',
            { region, kind: outcome.kind, error: outcome.detail, requestId },
          )
        }
        return outcome
      },
      onRefused: (region, refusal, placement) => {
        dropPlacement(key.merchantId)
        timing.note('placement-refused', `${region} ${refusal} epoch ${placement.epoch}`)
        edgeLog('info', 'region refused the placement; re-reading it', {
          region,
          refusal,
          merchantId: key.merchantId,
          epoch: placement.epoch,
          requestId,
        })
      },
    })
    if (routed.result === 'answered') {
      const response = routed.response
      // The edge's steps first, then the region's own (its `app` time).
      response.headers.set('Server-Timing', timing.header(response.headers.get('Server-Timing')))
      for (const [name, value] of rateLimitHeaders(limit)) response.headers.set(name, value)
      return response
    }
    if (routed.lastFailure) return routed.lastFailure
    throw new MeridianError({
      kind: 'unavailable',
      code: 'region_unavailable',
      message: canRetry
        ? 'No region could take this request. Retry with the same Idempotency-Key.'
        : 'The region did not answer. Retry with an Idempotency-Key so a retry is safe.',
      retryAfterSec: 1,
    })
  })

  app.notFound((c) => {
    throw new MeridianError({
      kind: 'not_found',
      code: 'route_missing',
      message: `No route ${c.req.method} ${c.req.path}.`,
    })
  })
  return app
}
