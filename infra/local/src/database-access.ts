import type pg from 'pg'

/**
 * Refuse (or allow again) every connection to a database and drop the open ones, as an outage
 * does: what the postgres-down drill throws, and the database-outage test. `admin` must be
 * connected to another database of the same server.
 */
export async function setDatabaseReachable(
  admin: pg.Pool,
  database: string,
  reachable: boolean,
): Promise<void> {
  const quoted = `"${database.replaceAll('"', '""')}"`
  await admin.query(`alter database ${quoted} allow_connections ${reachable}`)
  if (!reachable)
    await admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    )
}
