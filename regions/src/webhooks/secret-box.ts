import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { Secret } from '@meridian/core'

/**
 * Envelope encryption for webhook endpoint secrets: each
 * secret gets its own AES-256-GCM data key, and the data key is wrapped by a key-encryption key
 * (KEK) named by an id, so KEKs can rotate: new secrets are sealed with the first (current) key,
 * old ones still open with any key still listed. Sealed form, safe to store and replicate:
 * `wse1.<kek id>.<wrap iv>.<wrapped data key + tag>.<iv>.<ciphertext + tag>` (base64url).
 */
const version = 'wse1'
const ivBytes = 12
const tagBytes = 16

export interface KeyRing {
  /** The first key seals; every key opens. */
  readonly keys: readonly { readonly id: string; readonly key: Secret<Buffer> }[]
}

/** Exactly the standard base64 of 32 bytes: Node's decoder would skip stray characters. */
const keyBase64 = /^[A-Za-z0-9+/]{43}=$/

/**
 * `WEBHOOK_SECRET_KEYS=id1:<base64 32 bytes>,id2:…`; a bad entry is one readable error that
 * names its position, never its value (a missing comma, a duplicate id, a short key).
 */
export function keyRingFromText(text: string): KeyRing {
  const keys = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((entry, i) => {
      const colon = entry.indexOf(':')
      const id = entry.slice(0, colon)
      const encoded = entry.slice(colon + 1)
      if (colon <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || !keyBase64.test(encoded))
        throw new Error(
          `WEBHOOK_SECRET_KEYS: entry ${i + 1} is not <id>:<base64 of 32 bytes> (entries are comma-separated)`,
        )
      return { id, key: new Secret(Buffer.from(encoded, 'base64')) }
    })
  if (keys.length === 0) throw new Error('WEBHOOK_SECRET_KEYS: at least one key')
  const ids = keys.map((k) => k.id)
  const twice = ids.find((id, i) => ids.indexOf(id) !== i)
  if (twice !== undefined) throw new Error(`WEBHOOK_SECRET_KEYS: key id ${twice} appears twice`)
  return { keys }
}

/** The ring as `keyRingFromText` reads it (to hand it to another process). */
export function keyRingToText(ring: KeyRing): string {
  return ring.keys.map((k) => `${k.id}:${k.key.reveal().toString('base64')}`).join(',')
}

/**
 * A fresh one-key ring as WEBHOOK_SECRET_KEYS text, for local topologies and tests (`pnpm start`
 * makes one per run; its databases start empty too). The cloud's comes from a secret store.
 */
export function newKeyRingText(id = 'local'): string {
  return `${id}:${randomBytes(32).toString('base64')}`
}

function gcm(key: Buffer, plain: Buffer, aad: string): { iv: Buffer; sealed: Buffer } {
  const iv = randomBytes(ivBytes)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad))
  return { iv, sealed: Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]) }
}

function ungcm(key: Buffer, iv: Buffer, sealed: Buffer, aad: string): Buffer {
  // Node would accept a truncated tag (down to 4 bytes) unless told its length.
  if (iv.length !== ivBytes || sealed.length <= tagBytes) throw new Error('malformed sealed value')
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes })
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes))
  return Buffer.concat([
    decipher.update(sealed.subarray(0, sealed.length - tagBytes)),
    decipher.final(),
  ])
}

/** Seal `secret`, bound to `context` (the endpoint id) so a sealed value cannot be moved. */
export function sealSecret(ring: KeyRing, secret: Secret, context: string): string {
  const kek = ring.keys[0]
  if (!kek) throw new Error('no key-encryption key')
  const dataKey = randomBytes(32)
  const wrapped = gcm(kek.key.reveal(), dataKey, `${version}.${kek.id}.${context}`)
  const body = gcm(dataKey, Buffer.from(secret.reveal(), 'utf8'), `${version}.${context}`)
  dataKey.fill(0)
  const b = (x: Buffer) => x.toString('base64url')
  return [version, kek.id, b(wrapped.iv), b(wrapped.sealed), b(body.iv), b(body.sealed)].join('.')
}

/** Open a sealed secret; throws when the key is gone, the value was altered or moved. */
export function openSecret(ring: KeyRing, sealed: string, context: string): Secret {
  const [v, kekId, wrapIv, wrappedKey, iv, body] = sealed.split('.')
  if (v !== version || !kekId || !wrapIv || !wrappedKey || !iv || !body)
    throw new Error('not a sealed webhook secret')
  const kek = ring.keys.find((k) => k.id === kekId)
  if (!kek) throw new Error(`sealed with key ${kekId}, which is not in the key ring`)
  const d = (x: string) => Buffer.from(x, 'base64url')
  const dataKey = ungcm(
    kek.key.reveal(),
    d(wrapIv),
    d(wrappedKey),
    `${version}.${kekId}.${context}`,
  )
  try {
    return new Secret(ungcm(dataKey, d(iv), d(body), `${version}.${context}`).toString('utf8'))
  } finally {
    dataKey.fill(0)
  }
}
