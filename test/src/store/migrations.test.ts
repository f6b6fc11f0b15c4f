import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createPool,
  ensureSchema,
  type MigrationSet,
  migrate,
  migrationFiles,
} from '@meridian/platform'
import { regionMigrations } from '@meridian/regions'
import { regionDatabaseMigrations, replicationMigrations } from '@meridian/replication'
import type pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { uniqueName } from '../harness/names.ts'
import { testDatabaseUrl } from '../harness/pg.ts'

/**
 * Each package owns its tables' migrations (issue 19); the runner records `set/file`. Before that,
 * regions held every file, replication's tables included, and versions were bare file names: such
 * a database must carry on without a single file running twice.
 */
const pools: { pool: pg.Pool; schema: string }[] = []

async function emptySchema(): Promise<{ pool: pg.Pool; schema: string }> {
  const schema = uniqueName('migrations')
  const pool = createPool({ url: testDatabaseUrl(), schema, poolSizeMax: 2 })
  await ensureSchema(pool, schema)
  pools.push({ pool, schema })
  return { pool, schema }
}

afterEach(async () => {
  for (const { pool, schema } of pools.splice(0)) {
    await pool.query(`drop schema if exists ${schema} cascade`)
    await pool.end()
  }
})

const versions = async (pool: pg.Pool) =>
  (
    await pool.query<{ version: string }>('select version from schema_migrations order by 1')
  ).rows.map((r) => r.version)
const tables = async (pool: pg.Pool, schema: string) =>
  (
    await pool.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1 order by 1',
      [schema],
    )
  ).rows.map((r) => r.table_name)
const allVersions = (sets: readonly MigrationSet[]) =>
  sets.flatMap((set) => migrationFiles(set).map((f) => `${set.name}/${f}`)).sort()
const sql = (set: MigrationSet, file: string) => readFileSync(join(set.dir, file), 'utf8')

/** The layout before issue 19: regions' files 0001–0008, 0005 holding replication's tables too. */
async function migrateAsBefore(pool: pg.Pool): Promise<void> {
  await pool.query(
    'create table schema_migrations (version text primary key, applied_at timestamptz not null default now())',
  )
  for (const file of migrationFiles(regionMigrations).filter((f) => f <= '0008')) {
    const text =
      file === '0005_replication.sql'
        ? sql(regionMigrations, file) + sql(replicationMigrations, '0001_replication.sql')
        : sql(regionMigrations, file)
    await pool.query(text)
    await pool.query('insert into schema_migrations (version) values ($1)', [file])
  }
}

describe('migrations, one set per package', () => {
  it('builds a fresh database from every set, records each file under its set, and runs none twice', async () => {
    const { pool, schema } = await emptySchema()
    const applied = await migrate(pool, regionDatabaseMigrations, schema)
    expect(applied).toEqual(allVersions(regionDatabaseMigrations))
    expect(await versions(pool)).toEqual(allVersions(regionDatabaseMigrations))
    expect(await tables(pool, schema)).toEqual(
      expect.arrayContaining(['payments', 'replication_conflicts', 'replication_applied']),
    )
    expect(await migrate(pool, regionDatabaseMigrations, schema)).toEqual([])
  })

  it('carries a database migrated before sets existed over without running a file again', async () => {
    const { pool, schema } = await emptySchema()
    await migrateAsBefore(pool)
    const before = await tables(pool, schema)
    const later = allVersions(regionDatabaseMigrations).filter(
      (v) => v.startsWith('regions/') && v.slice('regions/'.length) > '0008',
    )
    // Anything that runs again fails on a table that exists; only files newer than the old layout run.
    expect(await migrate(pool, regionDatabaseMigrations, schema)).toEqual(later)
    expect(await versions(pool)).toEqual(allVersions(regionDatabaseMigrations))
    expect(await tables(pool, schema)).toEqual(expect.arrayContaining(before))
  })

  it("still builds replication's tables where today's regions set ran without them", async () => {
    const { pool, schema } = await emptySchema()
    await migrate(pool, [regionMigrations], schema)
    expect(await tables(pool, schema)).not.toContain('replication_applied')
    // regions/0005 is recorded, but today's 0005 no longer creates replication's tables.
    expect(await migrate(pool, regionDatabaseMigrations, schema)).toEqual(
      allVersions([replicationMigrations]),
    )
    expect(await tables(pool, schema)).toContain('replication_applied')
  })
})
