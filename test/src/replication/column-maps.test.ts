import {
  type IdempotencyReplica,
  type JournalEntry,
  newPayment,
  type Operation,
  type Payment,
  type Refund,
} from '@meridian/core'
import { inTransaction } from '@meridian/platform'
import {
  getOperations,
  getPaymentById,
  getRefunds,
  insertPaymentBatch,
  saveOperation,
  saveRefund,
  tables,
  unmappedTables,
  writeEntries,
} from '@meridian/regions'
import { stateLines } from '@meridian/replication'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDb, type TestDb } from '../harness/pg.ts'

/**
 * The column maps (regions/src/store/columns.ts) against the schema the migrations make: the store,
 * the replication merge and the digest take their column lists from the maps, so a column the
 * maps do not know of would be silently left behind by all three.
 */

let db: TestDb
beforeAll(async () => {
  db = await createTestDb('column_maps', 2)
})
afterAll(async () => {
  await db?.close()
})

interface SchemaColumn {
  table_name: string
  column_name: string
  data_type: string
  is_nullable: 'YES' | 'NO'
}

async function schemaColumns(): Promise<SchemaColumn[]> {
  const { rows } = await db.pool.query<SchemaColumn>(
    `select table_name, column_name, data_type, is_nullable from information_schema.columns
     where table_schema = $1 order by table_name, ordinal_position`,
    [db.schema],
  )
  return rows
}

const maps = Object.values(tables)

describe('the column maps', () => {
  it('map or list as local every column of their tables, and no column the tables lack', async () => {
    const columns = await schemaColumns()
    const drift = maps.map((table) => {
      const inSchema = columns.filter((c) => c.table_name === table.name).map((c) => c.column_name)
      const known = [...table.all.columns.map((c) => c.name), ...Object.keys(table.local)]
      return {
        table: table.name,
        notInMap: inSchema.filter((c) => !known.includes(c)),
        notInSchema: known.filter((c) => !inSchema.includes(c)),
      }
    })
    expect(drift).toEqual(maps.map((t) => ({ table: t.name, notInMap: [], notInSchema: [] })))
  })

  it('read and write each column as the type the schema stores, and read a null it allows', async () => {
    const columns = await schemaColumns()
    const mismatches = maps.flatMap((table) =>
      table.all.columns.flatMap((mapped) => {
        const found = columns.find(
          (c) => c.table_name === table.name && c.column_name === mapped.name,
        )
        if (!found) return [] // the test above reports it
        const problems: string[] = []
        if (found.data_type !== mapped.stored)
          problems.push(`stored as ${found.data_type}, mapped as ${mapped.stored}`)
        if (found.is_nullable === 'YES' && !mapped.nullable)
          problems.push('allows null, but its kind cannot read one')
        return problems.map((p) => `${table.name}.${mapped.name}: ${p}`)
      }),
    )
    expect(mismatches).toEqual([])
  })

  it('declare the primary keys the ON CONFLICT targets name', async () => {
    const { rows } = await db.pool.query<{ table_name: string; column_name: string }>(
      `select k.table_name, k.column_name from information_schema.table_constraints t
       join information_schema.key_column_usage k
         on k.constraint_schema = t.constraint_schema and k.constraint_name = t.constraint_name
       where t.table_schema = $1 and t.constraint_type = 'PRIMARY KEY'
       order by k.table_name, k.ordinal_position`,
      [db.schema],
    )
    const keys = maps.map((table) => {
      const primary = rows.filter((r) => r.table_name === table.name).map((r) => r.column_name)
      // A key of the table's own making (a serial id) is local: no statement here writes it.
      const own = primary.every((c) => c in table.local) ? [] : primary
      return { table: table.name, key: table.key.columns.map((c) => c.name), primary: own }
    })
    expect(keys).toEqual(keys.map((k) => ({ ...k, key: k.primary })))
  })

  it('cover every table of the schema, or list it as one region’s own', async () => {
    const { rows } = await db.pool.query<{ table_name: string }>(
      `select table_name from information_schema.tables
       where table_schema = $1 and table_type = 'BASE TABLE' order by table_name`,
      [db.schema],
    )
    const inSchema = rows.map((r) => r.table_name)
    const known = [...maps.map((t) => t.name), ...Object.keys(unmappedTables)]
    expect({
      notKnown: inSchema.filter((t) => !known.includes(t)),
      notInSchema: known.filter((t) => !inSchema.includes(t)),
    }).toEqual({ notKnown: [], notInSchema: [] })
  })
})

// The largest amount a JS number holds exactly: it must come back digit for digit.
const amountMax = Number.MAX_SAFE_INTEGER
const hlc = { wallMs: 1_767_225_600_000, logical: 7, node: 'us-east' }
const created: Payment = newPayment({
  id: 'pay_columns_1',
  merchantId: 'mer_columns',
  amount: amountMax,
  currency: 'USD',
  captureMethod: 'manual',
  paymentMethod: 'pm_card_visa',
  description: 'column maps',
  metadata: { order: '42' },
  originRegion: 'us-east',
  hlc,
})

describe('rows written and read through the maps', () => {
  it('a created payment reads back as newPayment made it, amounts exact', async () => {
    const outcomes = await insertPaymentBatch(
      db.pool,
      [
        {
          payment: created,
          idempotency: { key: 'k_columns', fingerprint: 'f', status: 202, body: '{"a":1}' },
          events: [],
          epoch: 1,
        },
      ],
      'us',
    )
    expect(outcomes).toEqual([{ kind: 'written' }])
    // The columns a create leaves at their defaults read back as newPayment started them.
    expect(await getPaymentById(db.pool, created.id)).toEqual(created)
  })

  it('refunds and operations read back whole, amounts exact', async () => {
    const refund: Refund = {
      id: 're_columns_1',
      paymentId: created.id,
      merchantId: created.merchantId,
      amount: amountMax,
      currency: 'USD',
      status: 'pending',
      reason: 'requested_by_customer',
      metadata: { note: 'x' },
      failureMessage: null,
      processorRef: 'ref_1',
      originRegion: 'eu-west',
      createdAtMs: hlc.wallMs + 1,
    }
    const operation: Operation = {
      id: 'op_columns_1',
      paymentId: created.id,
      merchantId: created.merchantId,
      kind: 'capture',
      amount: amountMax,
      currency: 'USD',
      reason: null,
      status: 'failed',
      failureCode: 'processor_error',
      failureMessage: 'no',
      originRegion: 'ap-south',
      createdAtMs: hlc.wallMs + 2,
    }
    await inTransaction(db.pool, async (client) => {
      await saveRefund(client, refund, created.hlc)
      await saveOperation(client, operation, created.hlc)
      // Written again (an upsert), as a merge does with the version that won.
      await saveRefund(client, { ...refund, status: 'succeeded' }, created.hlc)
    })
    expect(await getRefunds(db.pool, created.id)).toEqual([{ ...refund, status: 'succeeded' }])
    expect(await getOperations(db.pool, created.id)).toEqual([operation])
  })

  it('an amount no JS number holds exactly refuses to read', async () => {
    await db.pool.query(
      `insert into payment_operations (id, payment_id, merchant_id, kind, amount, currency, status,
         origin_region, hlc, created_at)
       values ('op_columns_big', $1, 'mer_columns', 'capture', 9007199254740993, 'USD', 'pending',
         'us-east', '', now())`,
      [created.id],
    )
    await expect(getOperations(db.pool, created.id)).rejects.toThrow(
      'not an exact amount: 9007199254740993',
    )
    await db.pool.query(`delete from payment_operations where id = 'op_columns_big'`)
  })

  it('the digest hashes the fields the maps name, in map order', async () => {
    const record: IdempotencyReplica = {
      merchantId: created.merchantId,
      key: 'k_columns',
      fingerprint: 'f',
      status: 202,
      body: '{"a":1}',
      resourceId: created.id,
      originRegion: 'us-east',
      hlc: created.hlc,
    }
    const entry: JournalEntry = {
      id: 'je_columns_1',
      paymentId: created.id,
      merchantId: created.merchantId,
      kind: 'hold',
      postings: [
        { account: 'b', amount: -amountMax, currency: 'USD' },
        { account: 'a', amount: amountMax, currency: 'USD' },
      ],
    }
    await inTransaction(db.pool, (client) => writeEntries(client, [entry], 'us-east'))
    const lines = await stateLines(db.pool)
    // Pinned: these lines are what every region compares, and a region on the previous version
    // computes them the same way (a changed map order or digest expression shows up here).
    expect(lines.payments).toEqual([
      `pay_columns_1|mer_columns|${amountMax}|USD|pending|manual|0|0|0|0|${created.hlc}|1|pending`,
    ])
    expect(lines.refunds).toEqual([`re_columns_1|pay_columns_1|${amountMax}|USD|succeeded`])
    expect(lines.operations).toEqual([
      `op_columns_1|pay_columns_1|capture|${amountMax}|USD|failed|processor_error|no`,
    ])
    expect(lines.idempotency).toEqual([
      [
        record.merchantId,
        record.key,
        record.fingerprint,
        record.status,
        // md5 of the stored body
        'bb6cb5c68df4652941caf652a366f2d8',
        record.resourceId,
        record.originRegion,
        record.hlc,
      ].join('|'),
    ])
    expect(lines.usage).toEqual(['mer_columns|2026-01-01|us-east|1'])
    expect(lines.ledger).toEqual([
      `je_columns_1|pay_columns_1|hold|a:${amountMax}:USD,b:-${amountMax}:USD`,
    ])
  })
})
