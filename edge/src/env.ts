/** The worker's bindings (wrangler.toml): secrets, vars and the API key namespace. */
export interface Env {
  /** sha256(api key) → {merchantId, mode, status}. Keys themselves are never stored. */
  readonly API_KEYS: KVNamespace
  readonly EDGE_SECRET: string
  readonly UPSTASH_REDIS_REST_URL: string
  readonly UPSTASH_REDIS_REST_TOKEN: string
  /** JSON map region → origin, overriding the registry's (local topology, tests). */
  readonly REGION_ORIGINS?: string
  readonly RATE_LIMIT_PER_SEC?: string
  readonly REGION_TIMEOUT_MS?: string
  readonly FAILBACK_HEALTHY_MS?: string
  readonly FAILBACK_RAMP_MS?: string
  /** Name this edge answers with in Meridian-Region when it answers itself (401, 429, 503). */
  readonly EDGE_NAME?: string
}

export interface EdgeSettings {
  readonly rateLimitPerSec: number
  /** A region that does not answer within this is treated as failing. */
  readonly regionTimeoutMs: number
  /** A recovered home region must stay healthy this long before traffic moves back. */
  readonly failbackHealthyMs: number
  /** Then traffic moves back gradually over this long. */
  readonly failbackRampMs: number
  readonly edgeName: string
}

function positive(text: string | undefined, fallback: number): number {
  const n = Number(text)
  return Number.isFinite(n) && n > 0 ? n : fallback
}

export function settingsOf(env: Env): EdgeSettings {
  return {
    rateLimitPerSec: positive(env.RATE_LIMIT_PER_SEC, 100),
    regionTimeoutMs: positive(env.REGION_TIMEOUT_MS, 1500),
    failbackHealthyMs: positive(env.FAILBACK_HEALTHY_MS, 30_000),
    failbackRampMs: positive(env.FAILBACK_RAMP_MS, 60_000),
    edgeName: env.EDGE_NAME ?? 'edge',
  }
}
