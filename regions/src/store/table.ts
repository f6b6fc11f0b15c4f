import { invariant } from '@meridian/core'
import type { Kind, Row } from './rows.ts'

/**
 * A table's columns declared once (columns.ts), and everything statements need derived from that
 * declaration: select lists, row → domain mappers, insert and update column lists, parameter
 * arrays, jsonb record types and what the state digest hashes. Statements and mappers are made
 * when a module loads (see `compile`), so a query pays nothing for the map.
 */

export interface ColumnOptions {
  /** Part of the primary key (ON CONFLICT targets and lookups use it); never changes. */
  readonly key?: boolean
  /**
   * When the stored value of a row may change: `never` (set by the insert, identity),
   * `merge` (only a replication merge moves it) or `always` (any write). Default `always`.
   */
  readonly changes?: 'never' | 'merge' | 'always'
  /** What the state digest hashes for it: the column (default), an SQL expression, or nothing. */
  readonly digest?: boolean | string
  /** A payment's create leaves it at the column default: newPayment starts it just as empty. */
  readonly createdEmpty?: boolean
  /** settlePayment derives it from the operations and refunds a region holds. */
  readonly settled?: boolean
}

export interface Column<V> extends Kind<V> {
  /** The column's name in SQL. */
  readonly name: string
  readonly key: boolean
  readonly changes: 'never' | 'merge' | 'always'
  /** The SQL expression the digest hashes, or null when the digest leaves the column out. */
  readonly digest: string | null
  readonly createdEmpty: boolean
  readonly settled: boolean
}

/** SQL names are interpolated into statements and compiled mappers: plain identifiers only. */
const sqlName = /^[a-z_][a-z0-9_]*$/
const fieldName = /^[A-Za-z_][A-Za-z0-9_]*$/

export function column<V>(name: string, kind: Kind<V>, options: ColumnOptions = {}): Column<V> {
  invariant(sqlName.test(name), `not a plain column name: ${name}`)
  const key = options.key ?? false
  invariant(!key || (options.changes ?? 'never') === 'never', `key column ${name} cannot change`)
  return {
    ...kind,
    name,
    key,
    changes: key ? 'never' : (options.changes ?? 'always'),
    digest:
      options.digest === false ? null : typeof options.digest === 'string' ? options.digest : name,
    createdEmpty: options.createdEmpty ?? false,
    settled: options.settled ?? false,
  }
}

/** One column per field of T, each of the field's own type. */
export type Columns<T> = { readonly [K in keyof T]-?: Column<T[K]> }

/** For each field of T, an SQL expression (a statement's source for that column). */
export type Sources<T> = { readonly [K in keyof T]-?: string }

/** A column with the field it fills; the value type is erased once the map has checked it. */
interface Mapped {
  readonly field: string
  readonly column: Column<unknown>
}

/**
 * A mapper compiled once, when a column set is made (at module load): it builds its object or
 * array as a literal, as a hand-written mapper would, and calls each column's own functions at
 * call sites of their own. A loop storing a payment's 23 fields key by key is 10-15 times slower
 * and leaves V8 a dictionary-mode object, slower to read wherever the payment goes after. The
 * source holds only quoted names that `column` and `defineTable` checked as plain identifiers.
 */
function compile<F>(functions: readonly ((value: never) => unknown)[], body: string): F {
  const names = functions.map((_, i) => `f${i}`)
  const make = new Function(...names, `'use strict'; return ${body}`)
  return make(...functions) as F
}

const q = JSON.stringify

function placeholder(column: Column<unknown>, n: number): string {
  const param = `$${n}`
  return column.store ? column.store(param) : param
}

/** A list of a table's columns, in map order, and what statements use of them. */
export class ColumnSet<W> {
  /** `a, b, c`: a select list, or an insert's column list. */
  readonly names: string
  /** `a text, b bigint`: a jsonb_to_record(set) column definition, one field per column. */
  readonly recordType: string
  /** For each field, the SQL reading it from such a record (converted as its column stores it). */
  readonly sources: Sources<W>
  /** `a, to_timestamp(b / 1000.0)`: the sources as a select list, in map order. */
  readonly fromRecord: string
  /** `a = excluded.a, b = excluded.b`: an upsert's assignments. */
  readonly excluded: string
  readonly length: number
  /** The row's values of these columns, read into their fields. */
  readonly read: (row: Row) => W
  /** The parameters `values`, `assignments` and `conditions` number, in order. */
  readonly params: (value: W) => unknown[]
  private readonly recordNew: (value: W) => Record<string, unknown>
  private readonly recordInto: (value: W, into: Record<string, unknown>) => Record<string, unknown>
  private readonly columnArrays: (rows: readonly W[]) => unknown[][]

  constructor(
    readonly table: string,
    private readonly mapped: readonly Mapped[],
  ) {
    this.length = mapped.length
    const reads = mapped.map((m) => m.column.read)
    const writes = mapped.map((m) => m.column.write)
    const readOf = (m: Mapped, i: number) => `f${i}(row[${q(m.column.name)}])`
    const writeOf = (m: Mapped, i: number, from: string) => `f${i}(${from}[${q(m.field)}])`
    this.read = compile(
      reads,
      `(row) => ({ ${mapped.map((m, i) => `${q(m.field)}: ${readOf(m, i)}`).join(', ')} })`,
    )
    this.params = compile(writes, `(w) => [${mapped.map((m, i) => writeOf(m, i, 'w')).join(', ')}]`)
    this.recordNew = compile(
      writes,
      `(w) => ({ ${mapped.map((m, i) => `${q(m.column.name)}: ${writeOf(m, i, 'w')}`).join(', ')} })`,
    )
    this.recordInto = compile(
      writes,
      `(w, o) => { ${mapped.map((m, i) => `o[${q(m.column.name)}] = ${writeOf(m, i, 'w')};`).join(' ')} return o }`,
    )
    const columns = mapped.map((_, i) => `a${i}`)
    this.columnArrays = compile(
      writes,
      `(rows) => {
        ${columns.map((a) => `const ${a} = [];`).join(' ')}
        for (const w of rows) { ${mapped.map((m, i) => `a${i}.push(${writeOf(m, i, 'w')});`).join(' ')} }
        return [${columns.join(', ')}]
      }`,
    )
    this.names = mapped.map((m) => m.column.name).join(', ')
    this.recordType = mapped.map((m) => `${m.column.name} ${m.column.param}`).join(', ')
    const sources: Record<string, string> = {}
    for (const { field, column } of mapped)
      sources[field] = column.store ? column.store(column.name) : column.name
    this.sources = sources as Sources<W>
    this.fromRecord = Object.values(sources).join(', ')
    this.excluded = mapped.map((m) => `${m.column.name} = excluded.${m.column.name}`).join(', ')
  }

  get columns(): readonly Column<unknown>[] {
    return this.mapped.map((m) => m.column)
  }

  /** `$first, $first+1, …`, each stored as its column needs: an insert's values. */
  values(first: number): string {
    return this.mapped.map((m, i) => placeholder(m.column, first + i)).join(', ')
  }

  /** `a = $first, b = $first+1, …`: an update's assignments. */
  assignments(first: number): string {
    return this.mapped
      .map((m, i) => `${m.column.name} = ${placeholder(m.column, first + i)}`)
      .join(', ')
  }

  /** `a = $first and b = $first+1`: a where clause on these columns. */
  conditions(first: number): string {
    return this.mapped
      .map((m, i) => `${m.column.name} = ${placeholder(m.column, first + i)}`)
      .join(' and ')
  }

  /** `$first::text[], $first+1::bigint[]`: the arrays `arrays` makes, for unnest. */
  unnest(first: number): string {
    return this.mapped.map((m, i) => `$${first + i}::${m.column.param}[]`).join(', ')
  }

  /** The columns of this set whose declaration passes the test, in map order. */
  where(test: (column: Column<unknown>) => boolean): WriteSet<W> {
    return new ColumnSet<W>(
      this.table,
      this.mapped.filter((m) => test(m.column)),
    )
  }

  /** The parameter number of a field, when this set's parameters start at `first`. */
  position(field: keyof W & string, first: number): number {
    const i = this.mapped.findIndex((m) => m.field === field)
    invariant(i >= 0, `${this.table} has no ${field} in this column set`)
    return first + i
  }

  /** One jsonb record (`recordType`), keyed by column name; added to `into` when given. */
  record(value: W, into?: Record<string, unknown>): Record<string, unknown> {
    return into ? this.recordInto(value, into) : this.recordNew(value)
  }

  /** One array per column, one element per row: the parameters of `unnest`. */
  arrays(rows: readonly W[]): unknown[][] {
    return this.columnArrays(rows)
  }
}

/**
 * Columns chosen by a test on their declaration: written from W, never read, and without
 * per-field sources (they may not cover W's fields; the table's `sources` do).
 */
export type WriteSet<W> = Omit<ColumnSet<W>, 'read' | 'sources'>

export type TableSpec<D, E> = {
  readonly name: string
  /** One column per field of the domain value, in the order rows are read into it. */
  readonly columns: Columns<D>
  /** The table's other columns, each with why no statement here reads or writes it from a value. */
  readonly local: Readonly<Record<string, string>>
} & (keyof E extends never
  ? { readonly extra?: Columns<E> }
  : {
      /** Columns beside the domain value, written from the caller's context (a clock, a set seen). */
      readonly extra: Columns<E>
    })

export interface Table<D, E> {
  readonly name: string
  readonly columns: Columns<D>
  readonly extraColumns: Columns<E>
  readonly local: Readonly<Record<string, string>>
  /** The domain value's columns: the select list that `read` maps. */
  readonly domain: ColumnSet<D>
  /** The extra columns alone. */
  readonly extra: ColumnSet<E>
  /** Every mapped column: the domain's, then the extra ones. */
  readonly all: ColumnSet<D & E>
  /** For each field, the SQL reading it from a jsonb record of `recordType`. */
  readonly sources: Sources<D & E>
  /** The primary key (domain columns). */
  readonly key: WriteSet<D>
  /** The expressions the state digest hashes, in map order. */
  readonly digest: readonly string[]
  /** Row → domain value. */
  readonly read: (row: Row) => D
  /** Some columns by field, in map order. */
  pick<K extends keyof (D & E) & string>(...fields: K[]): ColumnSet<Pick<D & E, K>>
  /**
   * An `insert … select` whose values are SQL, one expression per field: `names` and `values`
   * come out in map order, whatever order `sources` lists them in.
   */
  from(sources: Sources<D & E>): { readonly names: string; readonly values: string }
}

export function defineTable<D, E = Record<never, never>>(spec: TableSpec<D, E>): Table<D, E> {
  const entries = (columns: object): Mapped[] =>
    Object.entries(columns).map(([field, column]) => ({ field, column: column as Column<unknown> }))
  const domainMapped = entries(spec.columns)
  const extraMapped = entries(spec.extra ?? {})
  const allMapped = [...domainMapped, ...extraMapped]
  for (const m of allMapped)
    invariant(fieldName.test(m.field), `${spec.name}: not a plain field name: ${m.field}`)
  const names = allMapped.map((m) => m.column.name)
  invariant(new Set(names).size === names.length, `${spec.name} maps a column twice`)
  invariant(
    extraMapped.every((m) => !m.column.key),
    `${spec.name}: key columns belong to the domain value`,
  )
  for (const name of Object.keys(spec.local))
    invariant(!names.includes(name), `${spec.name}.${name} is both mapped and local`)
  const set = <W>(mapped: readonly Mapped[]) => new ColumnSet<W>(spec.name, mapped)
  const domain = set<D>(domainMapped)
  const all = set<D & E>(allMapped)
  return {
    name: spec.name,
    columns: spec.columns,
    extraColumns: (spec.extra ?? {}) as Columns<E>,
    local: spec.local,
    domain,
    extra: set<E>(extraMapped),
    all,
    sources: all.sources,
    key: set<D>(domainMapped.filter((m) => m.column.key)),
    digest: allMapped.flatMap((m) => (m.column.digest === null ? [] : [m.column.digest])),
    read: domain.read,
    pick<K extends keyof (D & E) & string>(...fields: K[]) {
      for (const f of fields)
        invariant(
          allMapped.some((m) => m.field === f),
          `${spec.name} has no field ${f}`,
        )
      return set<Pick<D & E, K>>(allMapped.filter((m) => (fields as string[]).includes(m.field)))
    },
    from(sources) {
      const bySource = sources as Record<string, string>
      return {
        names: allMapped.map((m) => m.column.name).join(', '),
        values: allMapped.map((m) => bySource[m.field]).join(', '),
      }
    },
  }
}
