import { invariant } from '@meridian/core'
import pg from 'pg'

/** Where one region keeps its state: a database, and optionally a schema inside it (tests). */
export interface PgLocation {
  readonly url: string
  readonly schema?: string
  /** Connections this process may hold; three regions and their workers share one server. */
  readonly poolSizeMax?: number
  /** Shown in pg_stat_activity: who holds a connection (and whose backends a bench counts). */
  readonly applicationName?: string
}

export const defaultDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/postgres'
export const poolSizeMaxDefault = 10
export const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/

export function databaseUrl(): string {
  return process.env.DATABASE_URL ?? defaultDatabaseUrl
}

/** The same server as `url`, another database on it. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export function createPool(location: PgLocation): pg.Pool {
  if (location.schema !== undefined) {
    invariant(schemaPattern.test(location.schema), `bad schema name ${location.schema}`)
  }
  const pool = new pg.Pool({
    connectionString: location.url,
    max: location.poolSizeMax ?? poolSizeMaxDefault,
    // Bigint columns (money sums, offsets) come back as strings by default; we read them
    // explicitly where needed rather than turning every bigint into a lossy float.
    ...(location.schema === undefined ? {} : { options: `-c search_path=${location.schema}` }),
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    ...(location.applicationName === undefined
      ? {}
      : { application_name: location.applicationName.slice(0, 63) }),
  })
  // A connection dropped by the server (restart, failover, pg_terminate_backend) must not crash
  // the process. pg emits 'error' on the client: the pool listens while the client is idle, but a
  // client held checked out (a leader's advisory-lock session) has no listener and would throw.
  // Queries on such a client reject instead, and their callers retry on a fresh connection.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}

/** SQLSTATEs that mean "the server cannot serve you now", not "your query is wrong". */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '53300'])
const unavailableSocketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])
const unavailableMessages = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /is not queryable/,
  // What Postgres answers once an operator closed the database (ALTER DATABASE … ALLOW_CONNECTIONS false).
  /is not currently accepting connections/,
]

/**
 * True when an error says the database is out of reach (down, restarting, refusing connections,
 * every connection busy): an outage to report as 503 and retry, not a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    // Class 08: connection exceptions.
    if (code.startsWith('08') || unavailableStates.has(code) || unavailableSocketCodes.has(code))
      return true
  }
  if (unavailableMessages.some((m) => m.test(error.message))) return true
  return error instanceof AggregateError && error.errors.some(isDatabaseUnavailable)
}

/**
 * True when Postgres aborted a transaction because it collided with another (a deadlock, a
 * serialization failure): nothing of it was written, and running it again is the remedy.
 */
export function isTransactionConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '40P01' || code === '40001'
}

/** Create the database if it is missing (CREATE DATABASE cannot run inside a transaction). */
export async function ensureDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1)
  invariant(schemaPattern.test(name), `bad database name ${name}`)
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') })
  await admin.connect()
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount === 0) {
      try {
        await admin.query(`create database ${name}`)
      } catch (error) {
        // Two processes raced to create it; the other one won, which is fine.
        if (!(error instanceof Error && 'code' in error && error.code === '42P04')) throw error
      }
    }
  } finally {
    await admin.end()
  }
}

export async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  invariant(schemaPattern.test(schema), `bad schema name ${schema}`)
  await pool.query(`create schema if not exists ${schema}`)
}

/** Run `work` in one transaction on one connection: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('begin')
    const result = await work(client)
    await client.query('commit')
    return result
  } catch (error) {
    await client.query('rollback').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}
