import { connectRedis, type Keyspace, keyspace } from '@meridian/platform'
import { deletePrefix } from '@meridian/platform/dev'
import type { Redis } from 'ioredis'
import { uniqueName } from './names.ts'

export interface TestRedis {
  readonly redis: Redis
  readonly keys: Keyspace
  /** Delete every key under this file's prefix and disconnect. */
  close(): Promise<void>
}

/** A connection plus a key prefix no other test file uses. */
export async function createTestRedis(label: string): Promise<TestRedis> {
  const redis = await connectRedis()
  const keys = keyspace(`${uniqueName(label)}:`)
  return {
    redis,
    keys,
    async close() {
      await deletePrefix(redis, keys.prefix)
      redis.disconnect()
    },
  }
}
