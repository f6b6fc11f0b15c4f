import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

/**
 * A Redis Lua script run by SHA (EVALSHA), loaded on first use or after a Redis restart
 * (NOSCRIPT), so the fast path never ships the script text on every call.
 */
export class LuaScript {
  private readonly sha: string

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  async run(
    redis: Redis,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return await redis.eval(this.source, keys.length, ...keys, ...args)
    }
  }
}
