import { sha256Hex } from '@meridian/core'

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Random text from `alphabet`: 62 symbols, rejection-sampled so each is equally likely. */
export function randomText(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += alphabet[byte % 62]
    }
  }
  return out
}

/** A merchant API key (edge/src/keys.ts apiKeyPattern): 24 random symbols, ~143 bits. */
export function newApiKey(mode: 'test' | 'live'): string {
  return `sk_${mode}_${randomText(24)}`
}

export const operatorKeyPattern = /^op_[A-Za-z0-9]{32}$/

export function newOperatorKey(): string {
  return `op_${randomText(32)}`
}

export function newObjectId(prefix: 'key' | 'opk'): string {
  return `${prefix}_${randomText(16)}`
}

export const hashKey = sha256Hex
