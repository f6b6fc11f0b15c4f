import { MeridianError, merchantIdSchema, sha256Hex } from '@meridian/core'
import { z } from 'zod'
import { IsolateCache, kvCacheTtlSec } from './isolate-cache.ts'
import type { Background } from './lease.ts'

/** What an API key stands for. Stored under sha256(key); the key itself is never stored. */
export const apiKeyRecordSchema = z.object({
  merchantId: merchantIdSchema,
  mode: z.enum(['test', 'live']),
  status: z.enum(['active', 'revoked']),
  /**
   * When a rolled key stops working (unix ms), Stripe-style: the old key keeps working until then
   * while the merchant deploys the new one. Past it, the key is refused exactly like a revoked one.
   */
  expiresAtMs: z.number().int().positive().optional(),
})
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>

export const apiKeyPattern = /^sk_(test|live)_[A-Za-z0-9]{16,128}$/

function unauthenticated(
  code: 'api_key_missing' | 'api_key_invalid',
  message: string,
): MeridianError {
  return new MeridianError({ kind: 'authentication', code, message })
}

/**
 * Key records are cached in the isolate this long, so a revocation or a roll takes effect at this
 * isolate within it (in the cloud, KV's own location cache adds up to `kvCacheTtlSec`). An expiry
 * is checked on every request against the clock, so it is not delayed by either cache.
 */
export const keyCacheTtlMs = 2000
const keyCacheSizeMax = 10_000
const keyCache = new IsolateCache<unknown>(keyCacheTtlMs, keyCacheSizeMax)

async function lookup(kv: KVNamespace, hash: string, background?: Background): Promise<unknown> {
  const read = () => kv.get(hash, { type: 'json', cacheTtl: kvCacheTtlSec })
  const cached = keyCache.get(hash)
  if (cached) {
    if (cached.refresh && background) keyCache.refreshIn(background, hash, read)
    else if (cached.refresh) keyCache.refreshFailed(hash)
    return cached.value
  }
  const began = Date.now()
  const stored = await read()
  keyCache.set(hash, stored, began)
  return stored
}

/** Whether a stored record lets its key in now: active and, when rolled, not yet expired. */
export function keyAdmits(record: ApiKeyRecord, nowMs: number): boolean {
  return (
    record.status === 'active' && (record.expiresAtMs === undefined || record.expiresAtMs > nowMs)
  )
}

/**
 * The key from `Bearer <key>` or, as Stripe accepts and `curl -u sk_test_…:` sends,
 * `Basic base64(<key>:<any password>)`. Anything else → '' (refused as invalid below).
 */
export function keyFromAuthorization(header: string): string {
  const space = header.indexOf(' ')
  if (space < 0) return ''
  const scheme = header.slice(0, space).toLowerCase()
  const credentials = header.slice(space + 1).trim()
  if (scheme === 'bearer') return credentials
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return ''
  let decoded: string
  try {
    decoded = atob(credentials)
  } catch {
    return ''
  }
  const colon = decoded.indexOf(':')
  return colon < 0 ? decoded : decoded.slice(0, colon)
}

/**
 * `Authorization: Bearer <key>` or `Basic base64(<key>:)` → the merchant. Unknown, malformed,
 * wrongly encoded, revoked and expired keys and unknown schemes all answer the same 401, so a caller learns
 * nothing about which keys exist.
 */
export async function authenticate(
  kv: KVNamespace,
  header: string | undefined,
  /** The request's waitUntil, for refreshing the cached record ahead of its expiry. */
  background?: Background,
): Promise<ApiKeyRecord> {
  if (header === undefined)
    throw unauthenticated(
      'api_key_missing',
      'Send your API key as Authorization: Bearer <key> (or Basic, the key as user name).',
    )
  const key = keyFromAuthorization(header)
  if (!apiKeyPattern.test(key)) throw unauthenticated('api_key_invalid', 'Invalid API key.')
  const stored = await lookup(kv, await sha256Hex(key), background)
  const record = apiKeyRecordSchema.safeParse(stored)
  if (!record.success || !keyAdmits(record.data, Date.now()))
    throw unauthenticated('api_key_invalid', 'Invalid API key.')
  return record.data
}
