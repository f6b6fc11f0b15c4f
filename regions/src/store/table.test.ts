import { describe, expect, it } from 'vitest'
import { payments } from './columns.ts'
import { money, optionalText, text, timeMs } from './rows.ts'
import { column, defineTable } from './table.ts'

interface Thing {
  readonly id: string
  readonly amount: number
  readonly note: string | null
  readonly createdAtMs: number
}

const things = defineTable<Thing, { hlc: string }>({
  name: 'things',
  columns: {
    id: column('id', text, { key: true }),
    amount: column('amount', money, { changes: 'never' }),
    note: column('note', optionalText, { digest: false }),
    createdAtMs: column('created_at', timeMs, { digest: 'extract(epoch from created_at)' }),
  },
  extra: { hlc: column('hlc', text) },
  local: { updated_at: 'local' },
})

const thing: Thing = { id: 't1', amount: 9_007_199_254_740_991, note: null, createdAtMs: 1_000 }

describe('a table declared once', () => {
  it('gives the column lists statements use, in map order', () => {
    expect(things.domain.names).toBe('id, amount, note, created_at')
    expect(things.all.names).toBe('id, amount, note, created_at, hlc')
    expect(things.all.values(1)).toBe('$1, $2, $3, to_timestamp($4 / 1000.0), $5')
    expect(things.all.where((c) => c.changes !== 'never').assignments(2)).toBe(
      'note = $2, created_at = to_timestamp($3 / 1000.0), hlc = $4',
    )
    expect(things.all.where((c) => c.changes !== 'never').excluded).toBe(
      'note = excluded.note, created_at = excluded.created_at, hlc = excluded.hlc',
    )
    expect(things.key.conditions(1)).toBe('id = $1')
    expect(things.all.unnest(3)).toBe(
      '$3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::text[]',
    )
    expect(things.all.recordType).toBe(
      'id text, amount bigint, note text, created_at bigint, hlc text',
    )
    expect(things.all.fromRecord).toBe('id, amount, note, to_timestamp(created_at / 1000.0), hlc')
    expect(things.digest).toEqual(['id', 'amount', 'extract(epoch from created_at)', 'hlc'])
  })

  it('writes parameters, records and unnest arrays in the same order', () => {
    const written = { ...thing, hlc: 'h' }
    expect(things.all.params(written)).toEqual(['t1', 9_007_199_254_740_991, null, 1_000, 'h'])
    expect(things.all.record(written)).toEqual({
      id: 't1',
      amount: 9_007_199_254_740_991,
      note: null,
      created_at: 1_000,
      hlc: 'h',
    })
    expect(things.all.arrays([written, { ...written, id: 't2' }])).toEqual([
      ['t1', 't2'],
      [9_007_199_254_740_991, 9_007_199_254_740_991],
      [null, null],
      [1_000, 1_000],
      ['h', 'h'],
    ])
    expect(things.all.position('hlc', 2)).toBe(6)
  })

  it('reads a row exactly, bigint text included, and refuses an inexact amount', () => {
    const row = { id: 't1', amount: '9007199254740991', note: null, created_at: new Date(1_000) }
    expect(things.read(row)).toEqual(thing)
    expect(() => things.read({ ...row, amount: '9007199254740993' })).toThrow(
      'not an exact amount: 9007199254740993',
    )
    expect(things.pick('amount').read(row)).toEqual({ amount: 9_007_199_254_740_991 })
  })

  it('puts an insert…select’s sources in map order, whatever order they are given in', () => {
    expect(
      things.from({ hlc: "''", createdAtMs: 'now()', note: 'null', amount: '1', id: 'x' }),
    ).toEqual({ names: 'id, amount, note, created_at, hlc', values: "x, 1, null, now(), ''" })
  })

  it('refuses a column mapped twice, or both mapped and local', () => {
    expect(() =>
      defineTable<{ a: string; b: string }>({
        name: 'twice',
        columns: { a: column('a', text), b: column('a', text) },
        local: {},
      }),
    ).toThrow('twice maps a column twice')
    expect(() =>
      defineTable<{ a: string }>({
        name: 'both',
        columns: { a: column('a', text) },
        local: { a: 'local' },
      }),
    ).toThrow('both.a is both mapped and local')
    expect(() => column('a; drop table payments', text)).toThrow('not a plain column name')
  })
})

describe('the payments map', () => {
  it('reads a row into a Payment with every field, in the domain order', () => {
    const row = {
      id: 'pay_1',
      merchant_id: 'mer_1',
      amount: '100',
      currency: 'USD',
      status: 'authorized',
      capture_method: 'manual',
      amount_captured: '0',
      amount_refunded: '0',
      amount_refund_pending: '0',
      pending_operation: null,
      amount_capture_requested: '0',
      payment_method: { token: 'pm_card_visa', brand: 'visa', last4: '4242' },
      description: null,
      metadata: null,
      decline_code: null,
      failure_message: null,
      processor: 'network-a',
      processor_ref: null,
      authorized_at: new Date(2_000),
      origin_region: 'us-east',
      created_at: new Date(1_000),
      hlc: 'h',
      version: 2,
    }
    const p = payments.read(row)
    expect(Object.keys(p)).toEqual(Object.keys(payments.columns))
    expect(p).toMatchObject({ amount: 100, metadata: {}, authorizedAtMs: 2_000, version: 2 })
    expect(() => payments.read({ ...row, status: 'lost' })).toThrow(
      'unknown status in database: lost',
    )
  })
})
