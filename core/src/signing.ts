/**
 * Signed internal requests, edge → region. The edge authenticates the merchant; the region accepts
 * only requests the edge signed, so a region reachable directly (or through a misconfigured
 * balancer) still cannot be called without the edge's secret. WebCrypto only: the same code runs
 * in workerd (edge) and Node (regions, tests).
 *
 * Header: `Meridian-Edge-Signature: t=<unix seconds>,m=<merchant>,e=<epoch>,r=<region>,v1=<hex>`
 * with v1 the HMAC-SHA256 of
 * `v1\n<t>\n<METHOD>\n<path?query>\n<merchant>\n<epoch>\n<region>\n<hex SHA-256 of the body>`.
 * `r` names the region the edge chose and `e` the registry epoch it chose by: a region refuses
 * a request meant for another region or routed by a stale registry (fencing).
 */
export const edgeSignatureHeader = 'Meridian-Edge-Signature'
/** A signature older or newer than this is refused: it bounds how long a captured request replays. */
export const edgeSignatureToleranceSec = 300

const encoder = new TextEncoder()

/**
 * The two primitives everything here needs. The default is WebCrypto, which runs everywhere
 * (workerd included) but is slow on Node 20 (each digest is a thread-pool job). Node processes
 * install a node:crypto provider at start-up (regions does); both give identical results.
 */
export interface CryptoProvider {
  sha256Hex(data: Uint8Array): string | Promise<string>
  hmacSha256Hex(secret: string, message: Uint8Array): string | Promise<string>
}

// Spelled via importKey's type: the global CryptoKey type differs between Node and workerd typings.
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>
const keyCache = new Map<string, Promise<HmacKey>>()
const keyCacheSizeMax = 16

function hmacKey(secret: string): Promise<HmacKey> {
  let key = keyCache.get(secret)
  if (!key) {
    if (keyCache.size >= keyCacheSizeMax) keyCache.clear()
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    keyCache.set(secret, key)
  }
  return key
}

export const webCryptoProvider: CryptoProvider = {
  async sha256Hex(data) {
    return toHex(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
  },
  async hmacSha256Hex(secret, message) {
    return toHex(
      await crypto.subtle.sign('HMAC', await hmacKey(secret), message as Uint8Array<ArrayBuffer>),
    )
  },
}

let provider: CryptoProvider = webCryptoProvider

export function setCryptoProvider(next: CryptoProvider): void {
  provider = next
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  let out = ''
  for (const b of view) out += b.toString(16).padStart(2, '0')
  return out
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return provider.sha256Hex(typeof data === 'string' ? encoder.encode(data) : data)
}

export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  return provider.hmacSha256Hex(secret, encoder.encode(message))
}

/** Compare without an early exit, so timing does not reveal how many characters matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0)
  }
  return diff === 0
}

export interface SignedRequest {
  readonly method: string
  /** Path plus query string, exactly as sent. */
  readonly path: string
  readonly merchantId: string
  readonly epoch: number
  /** The region the edge routed this request to. */
  readonly region: string
  /** The API key's mode; signed, so a region can hold live keys to live rules (https webhooks). */
  readonly mode?: KeyMode
  readonly body: string | Uint8Array
}

export type KeyMode = 'test' | 'live'

function canonical(r: SignedRequest, t: number, bodyHex: string): string {
  const base = `v1\n${t}\n${r.method.toUpperCase()}\n${r.path}\n${r.merchantId}\n${r.epoch}\n${r.region}\n${bodyHex}`
  // The mode line is added only when a mode is signed, so signatures without one still verify.
  return r.mode ? `${base}\n${r.mode}` : base
}

export async function signEdgeRequest(
  secret: string,
  request: SignedRequest,
  nowSec: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  const mac = await hmacSha256Hex(secret, canonical(request, nowSec, await sha256Hex(request.body)))
  const k = request.mode ? `,k=${request.mode}` : ''
  return `t=${nowSec},m=${request.merchantId},e=${request.epoch},r=${request.region}${k},v1=${mac}`
}

export interface ParsedSignature {
  readonly t: number
  readonly merchantId: string
  readonly epoch: number
  readonly region: string
  readonly mode?: KeyMode
  readonly mac: string
}

export function parseEdgeSignature(header: string): ParsedSignature | undefined {
  const fields = new Map<string, string>()
  for (const part of header.split(',')) {
    const eq = part.indexOf('=')
    if (eq <= 0) return undefined
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const t = Number(fields.get('t'))
  const epoch = Number(fields.get('e'))
  const merchantId = fields.get('m')
  const mac = fields.get('v1')
  const region = fields.get('r')
  if (!Number.isSafeInteger(t) || !Number.isSafeInteger(epoch) || !merchantId || !mac || !region)
    return undefined
  if (!/^[0-9a-f]{64}$/.test(mac)) return undefined
  const k = fields.get('k')
  if (k !== undefined && k !== 'test' && k !== 'live') return undefined
  return { t, merchantId, epoch, region, mac, ...(k ? { mode: k } : {}) }
}

export type VerifyOutcome =
  | {
      readonly ok: true
      readonly merchantId: string
      readonly epoch: number
      readonly region: string
      readonly mode?: KeyMode
    }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'expired' | 'mismatch' }

/** Check a request against its signature header; outcomes are data, the caller maps them to 401s. */
export async function verifyEdgeSignature(
  secret: string,
  header: string | undefined | null,
  request: Omit<SignedRequest, 'merchantId' | 'epoch' | 'region' | 'mode'>,
  nowSec: number = Math.floor(Date.now() / 1000),
): Promise<VerifyOutcome> {
  if (!header) return { ok: false, reason: 'missing' }
  const parsed = parseEdgeSignature(header)
  if (!parsed) return { ok: false, reason: 'malformed' }
  if (Math.abs(nowSec - parsed.t) > edgeSignatureToleranceSec)
    return { ok: false, reason: 'expired' }
  const full = {
    ...request,
    merchantId: parsed.merchantId,
    epoch: parsed.epoch,
    region: parsed.region,
    ...(parsed.mode ? { mode: parsed.mode } : {}),
  }
  const expected = await hmacSha256Hex(
    secret,
    canonical(full, parsed.t, await sha256Hex(request.body)),
  )
  if (!constantTimeEqual(expected, parsed.mac)) return { ok: false, reason: 'mismatch' }
  return {
    ok: true,
    merchantId: parsed.merchantId,
    epoch: parsed.epoch,
    region: parsed.region,
    ...(parsed.mode ? { mode: parsed.mode } : {}),
  }
}
