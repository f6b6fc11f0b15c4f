import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDb, type TestDb } from '../harness/pg.ts'

/**
 * Found by the postgres-down drill: every service of a region died when its database dropped
 * their connections, because a client held checked out (a leader's advisory-lock session) had no
 * 'error' listener. An unhandled 'error' here would fail this file with an uncaught exception.
 */
let db: TestDb
let admin: TestDb
beforeAll(async () => {
  db = await createTestDb('connloss')
  admin = await createTestDb('connloss_admin')
})
afterAll(async () => {
  await db?.close()
  await admin?.close()
})

describe('a region pool when the database drops its connections', () => {
  it('survives a held client being terminated: its queries reject, fresh ones work', async () => {
    const held = await db.pool.connect()
    const { rows } = await held.query<{ pid: number }>('select pg_backend_pid() as pid')
    await admin.pool.query('select pg_terminate_backend($1)', [rows[0]?.pid])
    await new Promise((r) => setTimeout(r, 300))
    await expect(held.query('select 1')).rejects.toThrow(/not queryable|terminat/)
    held.release(true)
    const fresh = await db.pool.query<{ x: number }>('select 1 as x')
    expect(fresh.rows[0]?.x).toBe(1)
  })
})
