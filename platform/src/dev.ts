/**
 * Development-only helpers: they destroy data, so no service imports them (the dependency rules
 * in .dependency-cruiser.cjs allow them only in infra/local and tests).
 */
import { invariant } from '@meridian/core'
import type { Redis } from 'ioredis'
import pg from 'pg'
import { schemaPattern, withDatabase } from './postgres.ts'

/** Drop (closing its connections) and create a database: a clean slate for a local run. */
export async function recreateDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1)
  invariant(schemaPattern.test(name), `bad database name ${name}`)
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') })
  await admin.connect()
  try {
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
}

/** Delete every key under a prefix (tests, resets); SCAN keeps Redis responsive meanwhile. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) deleted += await redis.unlink(...keys)
  } while (cursor !== '0')
  return deleted
}
