import {
  createPool,
  databaseUrl,
  ensureDatabase,
  ensureSchema,
  migrate,
  withDatabase,
} from '@meridian/platform'
import { regionDatabaseMigrations } from '@meridian/replication'
import type pg from 'pg'
import { createdAtMs, leftoverAgeMsMin, uniqueName } from './names.ts'

/** Every test file works in its own schema of this database, so files run in parallel. */
export const testDatabaseName = 'meridian_test'

export function testDatabaseUrl(): string {
  return withDatabase(databaseUrl(), testDatabaseName)
}

export interface TestDb {
  readonly url: string
  readonly schema: string
  readonly pool: pg.Pool
  /** Drop the schema and close the pool. */
  close(): Promise<void>
}

/**
 * A fresh schema with every migration applied. `ownDatabase`: in a database of its own, for a
 * test that takes the whole database away (an outage) without touching the other files.
 */
export async function createTestDb(
  label: string,
  poolSizeMax = 5,
  options: { ownDatabase?: boolean } = {},
): Promise<TestDb> {
  const schema = uniqueName(label)
  const url = options.ownDatabase ? withDatabase(databaseUrl(), schema) : testDatabaseUrl()
  if (options.ownDatabase) await ensureDatabase(url)
  const pool = createPool({ url, schema, poolSizeMax })
  await ensureSchema(pool, schema)
  await migrate(pool, regionDatabaseMigrations, schema)
  return {
    url,
    schema,
    pool,
    async close() {
      await pool.query(`drop schema if exists ${schema} cascade`)
      await pool.end()
      if (options.ownDatabase) await dropDatabase(schema)
    },
  }
}

async function dropDatabase(name: string): Promise<void> {
  const admin = createPool({ url: databaseUrl(), poolSizeMax: 1 })
  try {
    await admin.query(`drop database if exists ${name} with (force)`)
  } finally {
    await admin.end()
  }
}

/** Called once per run: make sure the test database exists and sweep schemas of dead runs. */
export async function prepareTestDatabase(): Promise<void> {
  const url = testDatabaseUrl()
  await ensureDatabase(url)
  const pool = createPool({ url, poolSizeMax: 1 })
  try {
    const { rows } = await pool.query<{ nspname: string }>(
      "select nspname from pg_namespace where nspname like 't\\_%'",
    )
    for (const { nspname } of rows) {
      const born = createdAtMs(nspname)
      if (born !== undefined && Date.now() - born > leftoverAgeMsMin) {
        await pool.query(`drop schema if exists ${nspname} cascade`)
      }
    }
    const databases = await pool.query<{ datname: string }>(
      "select datname from pg_database where datname like 't\\_%'",
    )
    for (const { datname } of databases.rows) {
      const born = createdAtMs(datname)
      if (born !== undefined && Date.now() - born > leftoverAgeMsMin) await dropDatabase(datname)
    }
  } finally {
    await pool.end()
  }
}
