import { type CurrencyCode, invariant, isCurrencyCode } from '@meridian/core'

/** A row as node-postgres hands it over: bigint as text, timestamptz as Date, jsonb parsed. */
export type Row = Record<string, unknown>

/**
 * How one kind of value travels: read from a row, written as a query parameter (or a field of a
 * jsonb record, or an element of an unnest array), and stored in its column. The column maps
 * (columns.ts) give every column one of these.
 */
export interface Kind<V> {
  /** The parameter's SQL type: what a jsonb record field, an unnest array or a cast reads it as. */
  readonly param: string
  /** The column's type as information_schema.columns names it (the drift test compares). */
  readonly stored: string
  /** Whether a SQL null reads as a value; a column that allows null needs a kind that does. */
  readonly nullable: boolean
  readonly read: (value: unknown) => V
  readonly write: (value: V) => unknown
  /** The SQL that stores a parameter or record field in the column; without it, as it is. */
  readonly store?: (param: string) => string
}

/** Postgres returns bigint as text; money must come back as an exact safe integer. */
export function toMinor(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value
  invariant(
    typeof n === 'number' && Number.isSafeInteger(n),
    `not an exact amount: ${String(value)}`,
  )
  return n
}

function asIs<V>(value: V): unknown {
  return value
}

function currencyOf(value: unknown): CurrencyCode {
  const text = String(value).trim()
  invariant(isCurrencyCode(text), `unknown currency in database: ${text}`)
  return text
}

export const text: Kind<string> = {
  param: 'text',
  stored: 'text',
  nullable: false,
  read: String,
  write: asIs,
}

export const optionalText: Kind<string | null> = {
  param: 'text',
  stored: 'text',
  nullable: true,
  read: (value) => (value === null ? null : String(value)),
  write: asIs,
}

/** Text checked as it is read (a status, a kind): `read` refuses what the domain type does not allow. */
export function textOf<T extends string | null>(
  read: (value: unknown) => T,
  nullable = false,
): Kind<T> {
  return { param: 'text', stored: 'text', nullable, read, write: asIs }
}

/**
 * Exact whole numbers in bigint columns: written as JS numbers (node-postgres and JSON.stringify
 * print a safe integer's digits exactly), read back through `toMinor`. Never a float.
 */
export const bigint: Kind<number> = {
  param: 'bigint',
  stored: 'bigint',
  nullable: false,
  read: toMinor,
  write: asIs,
}

/** Amounts in minor units: the bigint kind, named for what the map declares. */
export const money: Kind<number> = bigint

export const integer: Kind<number> = {
  param: 'integer',
  stored: 'integer',
  nullable: false,
  read: Number,
  write: asIs,
}

/** ISO 4217 codes in char(3) columns (read back trimmed and checked). */
export const currency: Kind<CurrencyCode> = {
  param: 'text',
  stored: 'character',
  nullable: false,
  read: currencyOf,
  write: asIs,
}

/** A jsonb object, written as the object itself (node-postgres and JSON.stringify encode it). */
export function jsonObject<T extends object>(): Kind<T> {
  return {
    param: 'jsonb',
    stored: 'jsonb',
    nullable: false,
    read: (value) => (value ?? {}) as T,
    write: asIs,
  }
}

/**
 * Any JSON value as jsonb, written as JSON text: node-postgres would send a JS array as a Postgres
 * array. Positional parameters only (inside a jsonb record it would be a string).
 */
export const jsonText: Kind<unknown> = {
  param: 'jsonb',
  stored: 'jsonb',
  nullable: false,
  read: (value) => value,
  write: (value) => JSON.stringify(value),
}

function msOf(value: unknown): number {
  return (value as Date).getTime()
}

function storeMs(param: string): string {
  return `to_timestamp(${param} / 1000.0)`
}

/** A timestamptz carried as epoch milliseconds: written as a number, stored with to_timestamp. */
export const timeMs: Kind<number> = {
  param: 'bigint',
  stored: 'timestamp with time zone',
  nullable: false,
  read: msOf,
  write: asIs,
  store: storeMs,
}

export const optionalTimeMs: Kind<number | null> = {
  param: 'bigint',
  stored: 'timestamp with time zone',
  nullable: true,
  read: (value) => (value === null ? null : msOf(value)),
  write: asIs,
  store: storeMs,
}

/** A text[] column read as a list of checked values. */
export function textList<T extends string>(
  read: (value: unknown) => readonly T[],
): Kind<readonly T[]> {
  return {
    param: 'text[]',
    stored: 'ARRAY',
    nullable: false,
    read,
    // A copy: node-postgres encodes a plain array, whatever readonly view the caller holds.
    write: (value) => [...value],
  }
}

/** A date column as `YYYY-MM-DD` (node-postgres parses dates to local midnight). */
export const isoDate: Kind<string> = {
  param: 'date',
  stored: 'date',
  nullable: false,
  read: (value) => {
    if (!(value instanceof Date)) return String(value)
    const pad = (n: number) => String(n).padStart(2, '0')
    return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`
  },
  write: asIs,
}
