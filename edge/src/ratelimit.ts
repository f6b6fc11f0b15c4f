import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis/cloudflare'
import type { Env } from './env.ts'

let cached: { key: string; limiter: Ratelimit } | undefined

/**
 * Per-merchant limit on Upstash Redis (locally, the project's REST stand-in in front of real
 * Redis): a fixed one-second window, counted in Redis and cached in the isolate, so only the
 * first request of each window waits for Redis and the rest update it in the background
 * (`pending`, handed to waitUntil). If Upstash does not answer within `timeout`, the request goes
 * through: the regions keep their own limit, and payments must not stop because a limiter is slow.
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
        limiter: Ratelimit.cachedFixedWindow(perSec, '1 s'),
        prefix: 'meridian:edge:rl',
        timeout: 250,
        analytics: false,
        ephemeralCache: new Map(),
      }),
    }
  }
  return cached.limiter
}
