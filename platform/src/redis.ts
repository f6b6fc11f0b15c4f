import { Redis } from 'ioredis'

export const defaultRedisUrl = 'redis://127.0.0.1:6379'

export function redisUrl(): string {
  return process.env.REDIS_URL ?? defaultRedisUrl
}

/**
 * Every key a region (or a test) writes starts with its prefix, e.g. `meridian:us-east:`; regions
 * share one local Redis server without sharing a single key.
 */
export interface Keyspace {
  readonly prefix: string
  key(...parts: readonly string[]): string
}

export function keyspace(prefix: string): Keyspace {
  return { prefix, key: (...parts) => `${prefix}${parts.join(':')}` }
}

/** Connect and wait until Redis answers, so the first command cannot race the handshake. */
export async function connectRedis(url: string = redisUrl()): Promise<Redis> {
  const redis = createRedis(url)
  try {
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve)
      redis.once('error', reject)
    })
  } catch (error) {
    redis.disconnect()
    throw error
  }
  // Later connection errors are reported per command; without a listener ioredis would throw.
  redis.on('error', () => {})
  return redis
}

export function createRedis(url: string = redisUrl()): Redis {
  return new Redis(url, {
    // Fail fast instead of queueing forever when Redis is gone: callers fall back to Postgres.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    lazyConnect: false,
    // Commands issued in the same tick (many concurrent requests) go out in one write: on
    // loopback each write costs the sender the receiver's TCP processing too.
    enableAutoPipelining: true,
    // ElastiCache's AUTH token arrives as a secret of its own, never inside REDIS_URL.
    ...(process.env.REDIS_PASSWORD ? { password: process.env.REDIS_PASSWORD } : {}),
  })
}
