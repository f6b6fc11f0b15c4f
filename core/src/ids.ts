import { invariant } from './invariant.ts'
import { sha256Hex } from './signing.ts'

/**
 * Prefixed, sortable ids in the TypeID format: `<prefix>_<26 chars>`, where the 26 characters are
 * a UUIDv7 in Crockford base32. Ids sort by creation time (to the millisecond, then by a
 * per-process counter), which gives cursor pagination and Kafka keys a natural order.
 */
export const idPrefixes = {
  payment: 'pay',
  event: 'evt',
  refund: 're',
  request: 'req',
  journalEntry: 'je',
  webhookEndpoint: 'we',
  webhookDelivery: 'wd',
  /** A capture or cancel of a payment: each is an object of its own (operations.ts). */
  operation: 'op',
} as const

export type IdKind = keyof typeof idPrefixes
export type IdPrefix = (typeof idPrefixes)[IdKind]

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
const idBodyLength = 26
const counterMax = 0xfff

let lastMs = 0
let counter = 0

// Random bytes come from a pool refilled 4 KiB at a time: one getRandomValues call per ~250 ids.
const randomPool = new Uint8Array(4096)
let randomOffset = randomPool.length

function randomBytes(n: number): Uint8Array {
  if (randomOffset + n > randomPool.length) {
    crypto.getRandomValues(randomPool)
    randomOffset = 0
  }
  const bytes = randomPool.slice(randomOffset, randomOffset + n)
  randomOffset += n
  return bytes
}

/**
 * A UUIDv7 as 16 bytes. The 12-bit rand_a field is a counter (RFC 9562 §6.2 method 1) so ids made
 * in the same millisecond by this process still increase; on overflow we borrow the next ms.
 */
export function uuidv7Bytes(nowMs: number = Date.now()): Uint8Array {
  if (nowMs > lastMs) {
    lastMs = nowMs
    // Start low in the counter space so a burst within one millisecond rarely overflows.
    counter = (randomBytes(1)[0] ?? 0) & 0x1ff
  } else if (counter >= counterMax) {
    lastMs += 1
    counter = 0
  } else {
    counter += 1
  }
  const bytes = randomBytes(16)
  let ms = lastMs
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms & 0xff
    ms = Math.floor(ms / 256)
  }
  bytes[6] = 0x70 | (counter >> 8)
  bytes[7] = counter & 0xff
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f)
  return bytes
}

/** Bit `i` (0 = most significant) of a 128-bit value held as 16 bytes. */
function bitAt(bytes: Uint8Array, i: number): number {
  return ((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1
}

/** 128 bits as 26 base32 digits: the first digit holds the top 3 bits (TypeID layout). */
function encodeBase32(bytes: Uint8Array): string {
  let out = ''
  let bit = -2 // two leading zero bits pad 128 to 130 = 26 × 5
  for (let d = 0; d < idBodyLength; d++) {
    let digit = 0
    for (let k = 0; k < 5; k++, bit++) digit = (digit << 1) | (bit < 0 ? 0 : bitAt(bytes, bit))
    out += alphabet.charAt(digit)
  }
  return out
}

function decodeBase32(body: string): Uint8Array | undefined {
  if (body.length !== idBodyLength) return undefined
  let value = 0n
  for (const ch of body) {
    const digit = alphabet.indexOf(ch)
    if (digit < 0) return undefined
    value = (value << 5n) | BigInt(digit)
  }
  if (value >> 128n !== 0n) return undefined
  const bytes = new Uint8Array(16)
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn)
    value >>= 8n
  }
  return bytes
}

export function newId(kind: IdKind, nowMs?: number): string {
  return `${idPrefixes[kind]}_${encodeBase32(uuidv7Bytes(nowMs))}`
}

/**
 * The id of the object one request makes, derived from what identifies the request fleet-wide:
 * the merchant, its Idempotency-Key and the request's fingerprint (method, path, canonical body).
 * Every region that serves the request (the first attempt, a retry after failover, a region
 * restarted on old data) makes the same id, so the processor keys derived from it (`<id>:…`)
 * are the same too and the processor acts once. A changed request under the same key gets
 * another id: two objects, found and compensated after heal (ARCHITECTURE.md, "Exactly once").
 * The body is the first 128 bits of SHA-256 as a UUIDv8 (RFC 9562 §5.8), so these ids do not
 * sort by time: lists order by creation time, then id.
 */
export async function deriveId(kind: IdKind, ...parts: readonly string[]): Promise<string> {
  for (const part of parts) invariant(!part.includes('\u0000'), 'id parts cannot hold NUL')
  const hex = await sha256Hex([kind, ...parts].join('\u0000'))
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  bytes[6] = 0x80 | ((bytes[6] ?? 0) & 0x0f)
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f)
  return `${idPrefixes[kind]}_${encodeBase32(bytes)}`
}

/**
 * The id of the event that records one transition of one object (`payment.captured` of an
 * operation, `refund.failed` of a refund, …). Two regions can make the same transition (both
 * settle the same operation under the same processor key, or both fail an operation the merged
 * state rules out); with the same event id, a merchant receiving the webhook from each dedupes
 * it by id, as webhooks are meant to be. Synchronous (events are built inside transactions):
 * 128 bits of cyrb128 over two distinct inputs, not for anything an attacker picks freely; the
 * object ids it hashes are SHA-256-derived or minted here.
 */
export function eventIdFor(type: string, subjectId: string): string {
  const text = `${type}\u0000${subjectId}`
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  const words = [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0]
  const bytes = new Uint8Array(16)
  words.forEach((w, i) => {
    bytes[4 * i] = w >>> 24
    bytes[4 * i + 1] = (w >>> 16) & 0xff
    bytes[4 * i + 2] = (w >>> 8) & 0xff
    bytes[4 * i + 3] = w & 0xff
  })
  bytes[6] = 0x80 | ((bytes[6] ?? 0) & 0x0f)
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f)
  return `${idPrefixes.event}_${encodeBase32(bytes)}`
}

/**
 * The id of the payment a create request makes: merchant, Idempotency-Key and the request's
 * fingerprint. A changed request under the same key is another payment (in one region it is a
 * 422; across a partition nobody can tell, so it is compensated after heal).
 */
export function paymentIdFor(
  merchantId: string,
  idempotencyKey: string,
  fingerprint: string,
): Promise<string> {
  return deriveId('payment', merchantId, idempotencyKey, fingerprint)
}

/**
 * The id of the capture, cancel or refund a request makes: merchant and Idempotency-Key only,
 * not the request. A changed request under the same key in another region is then the same
 * object with other parameters, and the processor, which refuses a key reused with other
 * parameters, lets at most one of the two move money.
 */
export function operationIdFor(
  kind: 'operation' | 'refund',
  merchantId: string,
  idempotencyKey: string,
): Promise<string> {
  return deriveId(kind, merchantId, idempotencyKey)
}

/**
 * True when `text` is a well-formed id of this kind: prefix, length, alphabet, and a UUID of
 * version 7 (made by newId, time-ordered) or 8 (derived by deriveId).
 */
export function isId(kind: IdKind, text: string): boolean {
  const prefix = `${idPrefixes[kind]}_`
  if (!text.startsWith(prefix)) return false
  const bytes = decodeBase32(text.slice(prefix.length))
  if (bytes === undefined || (bytes[8] ?? 0) >> 6 !== 2) return false
  const version = (bytes[6] ?? 0) >> 4
  return version === 7 || version === 8
}

/** Milliseconds since the epoch at which a time-ordered (version 7) id was made. */
export function idTimeMs(id: string): number {
  const body = id.slice(id.indexOf('_') + 1)
  const bytes = decodeBase32(body)
  invariant(bytes !== undefined && (bytes[6] ?? 0) >> 4 === 7, `not a time-ordered id: ${id}`)
  let ms = 0
  for (let i = 0; i < 6; i++) ms = ms * 256 + (bytes[i] ?? 0)
  return ms
}
