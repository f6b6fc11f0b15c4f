import {
  constantTimeEqual,
  decodeUtf8,
  fleet,
  MeridianError,
  parseJsonObject,
  parseWith,
  regionIdSchema,
  residencySchema,
  toHttpError,
} from '@meridian/core'
import { Hono } from 'hono'
import { z } from 'zod'
import { type Env, settingsOf } from '../env.ts'
import type { HealthBoard } from '../health.ts'
import {
  type FleetControl,
  keyRollOverlapSecDefault,
  keyRollOverlapSecMax,
} from './fleet-control.ts'
import { callRegion } from './regions.ts'
import { hashKey, operatorKeyPattern } from './secrets.ts'
import type { Operator, Result } from './types.ts'

interface Vars {
  operator: Operator
  requestId: string
}

function control(env: Env) {
  const namespace = env.FLEET_CONTROL as unknown as DurableObjectNamespace<FleetControl>
  return namespace.get(namespace.idFromName('fleet'))
}

/** A control-plane answer as HTTP: its error through the one error mapping, like every error. */
function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value
  throw new MeridianError(result.error)
}

function unauthenticated(code: 'operator_key_missing' | 'operator_key_invalid'): MeridianError {
  return new MeridianError({
    kind: 'authentication',
    code,
    message:
      code === 'operator_key_missing'
        ? 'Send an operator key as Authorization: Bearer op_… (merchant API keys are not accepted here).'
        : 'Invalid operator key.',
  })
}

/** The bootstrap key (its hash is the OPERATOR_KEY_SHA256 variable), then keys made through the API. */
async function operatorOf(env: Env, header: string | undefined): Promise<Operator> {
  if (!header) throw unauthenticated('operator_key_missing')
  const key = header.startsWith('Bearer ') ? header.slice(7).trim() : ''
  if (!operatorKeyPattern.test(key)) throw unauthenticated('operator_key_invalid')
  const hash = await hashKey(key)
  const bootstrap = settingsOf(env).operatorKeySha256
  if (bootstrap && constantTimeEqual(bootstrap, hash)) return { id: 'bootstrap', name: 'bootstrap' }
  const operator = await control(env).operatorFor(hash)
  if (!operator) throw unauthenticated('operator_key_invalid')
  return operator
}

/** The body as the merchant API reads one (UTF-8, a JSON object, storable text), then `schema`. */
async function body<S extends z.ZodType>(req: Request, schema: S): Promise<z.output<S>> {
  const text = decodeUtf8(new Uint8Array(await req.arrayBuffer()))
  if (!text.ok) throw text.error
  const json = parseJsonObject(text.value)
  if (!json.ok) throw json.error
  const parsed = parseWith(schema, json.value)
  if (!parsed.ok) throw parsed.error
  return parsed.value
}

const knownRegion = regionIdSchema.refine((r) => fleet.regions.some((x) => x.id === r), {
  message: `a region of the registry: ${fleet.regions.map((r) => r.id).join(', ')}`,
})
const createMerchant = z.strictObject({
  name: z.string().min(1).max(100),
  home: knownRegion,
  residency: residencySchema.default('global'),
})
const createKey = z.strictObject({ mode: z.enum(['test', 'live']).default('test') })
const rollKey = z.strictObject({
  overlapSec: z.number().int().min(0).max(keyRollOverlapSecMax).default(keyRollOverlapSecDefault),
})
const move = z.strictObject({ merchantId: z.string().min(1).max(60), to: knownRegion })
const operatorKey = z.strictObject({ name: z.string().min(1).max(100) })

/**
 * The operator API, /operator/v1: its own credentials (operator keys, stored hashed), every
 * change audited by the control plane. `health` is this isolate's view of the regions.
 */
export function operatorApi(health: HealthBoard) {
  const api = new Hono<{ Bindings: Env; Variables: Vars }>()
  api.onError((error, c) => {
    const http = toHttpError(error, c.get('requestId') ?? 'req_operator')
    return c.json(http.body, http.status as 500, http.headers)
  })
  api.use('*', async (c, next) => {
    c.set('operator', await operatorOf(c.env, c.req.header('Authorization')))
    await next()
  })
  const by = (c: { get(k: 'operator'): Operator }) => c.get('operator')

  api.get('/status', async (c) => {
    const merchants = await control(c.env).listMerchants()
    const seen = health.snapshot()
    const regions = await Promise.all(
      fleet.regions.map(async (r) => {
        const answer = await callRegion(c.env, {
          region: r.id,
          method: 'GET',
          path: '/internal/v1/status',
        })
        return {
          id: r.id,
          jurisdiction: r.jurisdiction,
          edge: seen[r.id] ?? { up: true, consecutiveFailures: 0, note: 'no traffic seen yet' },
          reachable: answer.ok,
          ...(answer.ok ? { status: answer.body } : { error: answer.detail }),
          merchantsHomed: merchants.filter((m) => m.placement.home === r.id).length,
        }
      }),
    )
    return c.json({ regions, merchants })
  })

  api.get('/merchants', async (c) => c.json({ data: await control(c.env).listMerchants() }))
  api.post('/merchants', async (c) => {
    const input = await body(c.req.raw, createMerchant)
    return c.json(unwrap(await control(c.env).createMerchant(by(c), input)), 201)
  })
  api.get('/merchants/:id', async (c) =>
    c.json(unwrap(await control(c.env).getMerchant(c.req.param('id')))),
  )
  api.get('/merchants/:id/keys', async (c) =>
    c.json({ data: unwrap(await control(c.env).listKeys(c.req.param('id'))) }),
  )
  api.post('/merchants/:id/keys', async (c) => {
    const { mode } = await body(c.req.raw, createKey)
    return c.json(unwrap(await control(c.env).createKey(by(c), c.req.param('id'), mode)), 201)
  })
  api.post('/keys/:id/roll', async (c) => {
    const { overlapSec } = await body(c.req.raw, rollKey)
    return c.json(unwrap(await control(c.env).rollKey(by(c), c.req.param('id'), overlapSec)), 201)
  })
  api.post('/keys/:id/revoke', async (c) =>
    c.json(unwrap(await control(c.env).revokeKey(by(c), c.req.param('id')))),
  )
  api.post('/moves', async (c) => {
    const { merchantId, to } = await body(c.req.raw, move)
    return c.json(unwrap(await control(c.env).startMove(by(c), merchantId, to)))
  })
  api.get('/moves/:merchant', async (c) =>
    c.json(unwrap(await control(c.env).getMove(c.req.param('merchant')))),
  )
  api.post('/moves/:merchant/step', async (c) =>
    c.json(unwrap(await control(c.env).stepMove(by(c), c.req.param('merchant')))),
  )
  api.post('/moves/:merchant/abort', async (c) =>
    c.json(unwrap(await control(c.env).abortMove(by(c), c.req.param('merchant')))),
  )
  api.post('/regions/:region/evacuate', async (c) =>
    c.json({ plan: unwrap(await control(c.env).evacuate(by(c), c.req.param('region'))) }),
  )
  api.post('/regions/:region/restore', async (c) =>
    c.json({ plan: unwrap(await control(c.env).restore(by(c), c.req.param('region'))) }),
  )
  api.post('/operator_keys', async (c) => {
    const { name } = await body(c.req.raw, operatorKey)
    return c.json(unwrap(await control(c.env).createOperatorKey(by(c), name)), 201)
  })
  api.get('/audit', async (c) => {
    const limit = Math.min(500, Math.max(1, Number(c.req.query('limit') ?? 50) || 50))
    return c.json({ data: await control(c.env).auditLog(limit) })
  })
  api.notFound((c) => {
    throw new MeridianError({
      kind: 'not_found',
      code: 'route_missing',
      message: `No route ${c.req.method} ${c.req.path}.`,
    })
  })
  return api
}
