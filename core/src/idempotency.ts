import { sha256Hex } from './signing.ts'

/**
 * Idempotency keys, IETF draft "The Idempotency-Key HTTP Header Field" with Stripe's semantics:
 * same key + same request replays the stored response; same key + another request is a 422;
 * same key while the first is still running is a 409. Keys are scoped per merchant.
 */
export const idempotencyKeyHeader = 'Idempotency-Key'
export const idempotencyKeyCharsMax = 255
/** Visible ASCII only: a key is an opaque client token, not free text. */
export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/
/** The draft asks for at least 24 h; Redis keeps a little longer so replays never race expiry. */
export const idempotencyRedisTtlMs = 25 * 60 * 60_000
/** Postgres, the truth, keeps records a week before the janitor may remove them. */
export const idempotencyRetentionMs = 7 * 24 * 60 * 60_000
/** An in-flight marker outlives a crashed request by at most this long. */
export const idempotencyInFlightTtlMs = 30_000

export type IdempotencyRecord =
  | { readonly state: 'in_flight'; readonly fingerprint: string }
  | {
      readonly state: 'completed'
      readonly fingerprint: string
      readonly status: number
      readonly body: string
    }

export type IdempotencyDecision =
  | { readonly kind: 'new' }
  | { readonly kind: 'replay'; readonly status: number; readonly body: string }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'in_flight' }

export function decideIdempotency(
  record: IdempotencyRecord | undefined,
  fingerprint: string,
): IdempotencyDecision {
  if (record === undefined) return { kind: 'new' }
  if (record.fingerprint !== fingerprint) return { kind: 'mismatch' }
  if (record.state === 'in_flight') return { kind: 'in_flight' }
  return { kind: 'replay', status: record.status, body: record.body }
}

/** JSON with object keys sorted at every level, so `{"a":1,"b":2}` and `{"b":2,"a":1}` match. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** What makes two requests "the same request": method, path and the parsed body. */
export function requestFingerprint(method: string, path: string, body: unknown): Promise<string> {
  return sha256Hex(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`)
}
