import type { EdgeSettings } from '@meridian/core/edge-settings'
import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis/cloudflare'
import { type Take, TokenLeases } from './lease.ts'

const windowMs = 1000
let cached: { key: string; leases: TokenLeases } | undefined

/**
 * Per-merchant limit on Upstash Redis (locally, the project's REST stand-in in front of real
 * Redis): a fixed one-second window counted in Redis by one atomic script, so concurrent requests
 * through any number of isolates never admit more than the limit. The isolate reserves the
 * window's tokens in small batches (lease.ts), so a busy merchant's requests mostly pass without
 * a round trip, and refuses a merchant whose window is spent without asking again. (Upstash's
 * `cachedFixedWindow` answers from the isolate first and admitted 25 against 20 in a burst:
 * out-of-order replies reset its local count. Upstash marks it experimental.) If Upstash does
 * not answer within `timeout`, the request goes through: the regions keep their own limit, and
 * payments must not stop because a limiter is slow.
 */
export function limiterFor(upstash: EdgeSettings['upstash'], perSec: number): TokenLeases {
  const key = `${upstash.url}|${perSec}`
  if (cached?.key !== key)
    cached = { key, leases: new TokenLeases(upstashTake(upstash, perSec), windowMs) }
  return cached.leases
}

/** Takes from a merchant's window on Upstash: `limit(merchant, { rate: tokens })`. */
export function upstashTake(
  upstash: EdgeSettings['upstash'],
  perSec: number,
  prefix = 'meridian:edge:rl',
): Take {
  const redis = new Redis({
    url: upstash.url,
    token: upstash.token,
    enableTelemetry: false,
    retry: { retries: 1, backoff: () => 20 },
  })
  const limiter = new Ratelimit({
    redis,
    limiter: Ratelimit.fixedWindow(perSec, `${windowMs} ms`),
    prefix,
    timeout: 250,
    analytics: false,
    // The leases know when a window is spent; the client's own cache would also block a
    // merchant after a refused batch, with tokens still left in the window.
    ephemeralCache: false,
  })
  return (merchantId, tokens) => limiter.limit(merchantId, { rate: tokens })
}
