import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis/cloudflare'
import type { Env } from './env.ts'

let cached: { key: string; limiter: Ratelimit } | undefined

/**
 * Per-merchant limit on Upstash Redis (locally, the project's REST stand-in in front of real
 * Redis): a fixed one-second window counted in Redis by one atomic script, so concurrent requests
 * through any number of isolates never admit more than the limit. A merchant found over its
 * limit is refused from the isolate's `ephemeralCache` until the window ends, without asking
 * Redis again. (Upstash's `cachedFixedWindow` answers from the isolate first and admitted 25
 * against 20 in a burst: out-of-order replies reset its local count. Upstash marks it
 * experimental.) If Upstash does not answer within `timeout`, the request goes through: the
 * regions keep their own limit, and payments must not stop because a limiter is slow.
 */
export function limiterFor(env: Env, perSec: number): Ratelimit {
  const key = `${env.UPSTASH_REDIS_REST_URL}|${perSec}`
  if (cached?.key !== key) {
    const redis = new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      enableTelemetry: false,
      retry: { retries: 1, backoff: () => 20 },
    })
    cached = {
      key,
      limiter: new Ratelimit({
        redis,
        limiter: Ratelimit.fixedWindow(perSec, '1 s'),
        prefix: 'meridian:edge:rl',
        timeout: 250,
        analytics: false,
        ephemeralCache: new Map(),
      }),
    }
  }
  return cached.limiter
}
