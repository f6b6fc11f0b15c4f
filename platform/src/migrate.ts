import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fnv1a32 } from '@meridian/core'
import type pg from 'pg'

/**
 * One package's migrations: the package owns its tables and keeps their SQL in `dir`, named
 * `0001_what.sql`, `0002_…`. Recorded as `name/file`, so two packages may use the same numbers.
 */
export interface MigrationSet {
  readonly name: string
  readonly dir: string
  /**
   * Databases migrated before sets existed recorded bare file names (`0001_fast_path.sql`); the
   * one set that owned those files claims them, so they are not run a second time.
   */
  readonly claimsBareVersions?: boolean
  /**
   * A file of this set whose tables a bare version (of the layout before sets) already created,
   * before they moved here: where that bare version is recorded, the file counts as applied. Only
   * bare versions qualify: today's version of the same file may have shrunk when the tables moved.
   */
  readonly createdBefore?: Readonly<Record<string, string>>
}

export function migrationFiles(set: MigrationSet): string[] {
  return readdirSync(set.dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
}

/**
 * Apply every migration of `sets` not yet applied, set by set in the order given (a set may build
 * on the ones before it), each in its own transaction, under an advisory lock so two processes
 * starting together do not race. Migrations are append-only: never edit one that has shipped;
 * add the next number.
 */
export async function migrate(
  pool: pg.Pool,
  sets: readonly MigrationSet[],
  lockName = 'default',
): Promise<string[]> {
  const client = await pool.connect()
  const applied: string[] = []
  try {
    await client.query('select pg_advisory_lock($1)', [fnv1a32(`migrate:${lockName}`)])
    await client.query(
      'create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())',
    )
    await adoptEarlierVersions(client, sets)
    const done = new Set(
      (await client.query<{ version: string }>('select version from schema_migrations')).rows.map(
        (r) => r.version,
      ),
    )
    for (const set of sets) {
      for (const file of migrationFiles(set)) {
        const version = `${set.name}/${file}`
        if (done.has(version)) continue
        await applyOne(client, version, readFileSync(join(set.dir, file), 'utf8'))
        applied.push(version)
      }
    }
  } finally {
    await client.query('select pg_advisory_unlock_all()').catch(() => {})
    client.release()
  }
  return applied
}

/** Carry what databases migrated before sets existed recorded into today's versions (see MigrationSet). */
async function adoptEarlierVersions(
  client: pg.PoolClient,
  sets: readonly MigrationSet[],
): Promise<void> {
  for (const set of sets) {
    for (const [file, bareVersion] of Object.entries(set.createdBefore ?? {})) {
      await client.query(
        `insert into schema_migrations (version)
         select $1 where exists (select 1 from schema_migrations where version = $2)
         on conflict do nothing`,
        [`${set.name}/${file}`, bareVersion],
      )
    }
  }
  const claimant = sets.find((s) => s.claimsBareVersions)
  if (claimant)
    await client.query(
      `update schema_migrations set version = $1 || '/' || version where version ~ '^\\d{4}_[a-z0-9_]+\\.sql$'`,
      [claimant.name],
    )
}

async function applyOne(client: pg.PoolClient, version: string, sql: string): Promise<void> {
  await client.query('begin')
  try {
    await client.query(sql)
    await client.query('insert into schema_migrations (version) values ($1)', [version])
    await client.query('commit')
  } catch (error) {
    await client.query('rollback')
    throw new Error(`migration ${version} failed: ${String(error)}`, { cause: error })
  }
}
