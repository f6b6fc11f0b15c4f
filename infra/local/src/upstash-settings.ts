/**
 * The Upstash stand-in's settings as a process of its own (upstash-main.ts): every variable it
 * reads, named once in `variables`, read by `fromEnv` and written by `toEnv`.
 */
import { fileURLToPath } from 'node:url'
import { type Env, readEnv, variables as variablesFor, writeEnv } from '@meridian/core'
import { z } from 'zod'

/** The file the stand-in's process runs (`node --import tsx <entryPoint>`). */
export const entryPoint = fileURLToPath(new URL('./upstash-main.ts', import.meta.url))

export interface UpstashSettings {
  /** The REST token clients must present (as Upstash's). */
  readonly token: string
  /** The Redis behind it; unset: the developer's (REDIS_URL of the local tools). */
  readonly redisUrl?: string
}

const v = variablesFor<Partial<UpstashSettings>>()

/** Every variable the stand-in reads: the only place their names are written. */
export const variables = {
  UPSTASH_TOKEN: v.secret('token', z.string().min(1, 'set UPSTASH_TOKEN'), (s) => s.token),
  REDIS_URL: v.plain('redisUrl', z.string().min(1).optional(), (s) => s.redisUrl),
}

export function fromEnv(env: Env = process.env): UpstashSettings {
  const e = readEnv('upstash', variables, env)
  return { token: e.UPSTASH_TOKEN, ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL } : {}) }
}

/** The variables that tell the stand-in `settings`; `fromEnv(toEnv(s))` gives `s` back. */
export function toEnv(settings: Partial<UpstashSettings>): Record<string, string> {
  return writeEnv(variables, settings)
}
