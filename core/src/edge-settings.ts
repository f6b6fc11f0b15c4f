/**
 * The edge worker's settings: every variable (binding) it reads, named once in `variables`, read by
 * `fromEnv` and written by `toEnv`, with which infra/local (`pnpm start`, drills, tests) and
 * infra/cloud (the worker's bindings) configure it. `edgeDefaults` holds what an unset variable
 * means; wrangler.toml sets none of them. In core (its own entry, `@meridian/core/edge-settings`): the Worker and infra both import it,
 * and infra cannot depend on the edge package, whose tests run on infra/local.
 */

import { z } from 'zod'
import {
  type Env,
  type EnvOf,
  type KeyOf,
  readEnv,
  variables as variablesFor,
  writeEnv,
} from './settings.ts'

export interface EdgeSettings {
  /** Signs what the edge forwards; every region verifies it. */
  readonly edgeSecret: string
  /** The edge's global Redis (Upstash REST): rate limits. */
  readonly upstash: { readonly url: string; readonly token: string }
  /** Region → origin, over the registry's (the local topology and tests). */
  readonly regionOrigins?: Readonly<Record<string, string>>
  readonly rateLimitPerSec: number
  /** A region that does not answer within this is treated as failing. */
  readonly regionTimeoutMs: number
  /** A recovered home region must stay healthy this long before traffic moves back. */
  readonly failbackHealthyMs: number
  /** Then traffic moves back gradually over this long. */
  readonly failbackRampMs: number
  /**
   * How long the edge keeps re-reading a moving merchant's placement and trying again (on a
   * region's `merchant_moving` or `placement_stale`) before it passes the region's answer on.
   */
  readonly placementWaitMsMax: number
  /** Name this edge answers with in Meridian-Region when it answers itself (401, 429, 503). */
  readonly edgeName: string
  /** Hex SHA-256 of the first operator key (the operator API); unset, only API-made keys work. */
  readonly operatorKeySha256?: string
}

/** The settings the edge is told, as infra builds them: anything left out is not written. */
export type EdgeSettingsInput = Partial<Omit<EdgeSettings, 'upstash'>> & {
  readonly upstash?: Partial<EdgeSettings['upstash']>
}

/** Every default of the edge, once. */
export const edgeDefaults = {
  rateLimitPerSec: 100,
  regionTimeoutMs: 1500,
  failbackHealthyMs: 30_000,
  failbackRampMs: 60_000,
  placementWaitMsMax: 5000,
  edgeName: 'edge',
} as const

const v = variablesFor<EdgeSettingsInput>()
const text = (n: number | undefined) => (n === undefined ? undefined : String(n))
/**
 * A tuning number: a value that is not a positive number (unset, empty, a typo in the dashboard)
 * means the default, as it always has. Failing instead would stop every request at the edge for
 * want of a tuning knob; infra writes these with toEnv, so only a hand edit can get one wrong.
 */
const positive = (fallback: number) => z.coerce.number().positive().catch(fallback)
const origins = z
  .string()
  .transform((json, ctx) => {
    try {
      return JSON.parse(json) as unknown
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' })
      return z.NEVER
    }
  })
  .pipe(z.record(z.string(), z.string()))

/** Every variable the edge reads: the only place their names are written. */
export const variables = {
  EDGE_SECRET: v.secret('edgeSecret', z.string().min(1), (s) => s.edgeSecret),
  UPSTASH_REDIS_REST_URL: v.plain('upstashUrl', z.string().min(1), (s) => s.upstash?.url),
  UPSTASH_REDIS_REST_TOKEN: v.secret('upstashToken', z.string().min(1), (s) => s.upstash?.token),
  REGION_ORIGINS: v.plain('regionOrigins', origins.optional(), (s) =>
    s.regionOrigins ? JSON.stringify(s.regionOrigins) : undefined,
  ),
  RATE_LIMIT_PER_SEC: v.plain('rateLimitPerSec', positive(edgeDefaults.rateLimitPerSec), (s) =>
    text(s.rateLimitPerSec),
  ),
  REGION_TIMEOUT_MS: v.plain('regionTimeoutMs', positive(edgeDefaults.regionTimeoutMs), (s) =>
    text(s.regionTimeoutMs),
  ),
  FAILBACK_HEALTHY_MS: v.plain('failbackHealthyMs', positive(edgeDefaults.failbackHealthyMs), (s) =>
    text(s.failbackHealthyMs),
  ),
  FAILBACK_RAMP_MS: v.plain('failbackRampMs', positive(edgeDefaults.failbackRampMs), (s) =>
    text(s.failbackRampMs),
  ),
  PLACEMENT_WAIT_MS_MAX: v.plain(
    'placementWaitMsMax',
    positive(edgeDefaults.placementWaitMsMax),
    (s) => text(s.placementWaitMsMax),
  ),
  EDGE_NAME: v.plain('edgeName', z.string().default(edgeDefaults.edgeName), (s) => s.edgeName),
  OPERATOR_KEY_SHA256: v.secret(
    'operatorKeySha256',
    z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'hex SHA-256')
      .optional(),
    (s) => s.operatorKeySha256,
  ),
}

/** The worker's variables as its bindings are typed (the KV namespace is added in env.ts). */
export type EdgeVariables = EnvOf<typeof variables>

export function fromEnv(env: Env): EdgeSettings {
  const e = readEnv('edge', variables, env)
  return {
    edgeSecret: e.EDGE_SECRET,
    upstash: { url: e.UPSTASH_REDIS_REST_URL, token: e.UPSTASH_REDIS_REST_TOKEN },
    ...(e.REGION_ORIGINS ? { regionOrigins: e.REGION_ORIGINS } : {}),
    rateLimitPerSec: e.RATE_LIMIT_PER_SEC,
    regionTimeoutMs: e.REGION_TIMEOUT_MS,
    failbackHealthyMs: e.FAILBACK_HEALTHY_MS,
    failbackRampMs: e.FAILBACK_RAMP_MS,
    placementWaitMsMax: e.PLACEMENT_WAIT_MS_MAX,
    edgeName: e.EDGE_NAME,
    ...(e.OPERATOR_KEY_SHA256 ? { operatorKeySha256: e.OPERATOR_KEY_SHA256 } : {}),
  }
}

/**
 * The variables that tell the edge `settings`; `fromEnv(toEnv(s))` gives `s` back. `texts` gives a
 * setting as text already written, by key: the cloud's Terraform variables.
 */
export function toEnv(
  settings: EdgeSettingsInput,
  texts: Readonly<Partial<Record<KeyOf<typeof variables>, string>>> = {},
): Record<string, string> {
  return writeEnv(variables, settings, texts)
}
