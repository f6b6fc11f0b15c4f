import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The worker's name, compatibility settings, cron and KV bindings come from edge/wrangler.toml, the
 * file `pnpm start` runs the edge with, so the deployed worker cannot drift from the tested one.
 * Only the flat keys and the [triggers] and [[kv_namespaces]] tables are read; anything else is
 * ignored, except a [vars] table: the worker's variables and their defaults are
 * core/src/edge-settings.ts, and EdgeStack writes them with its toEnv.
 */
export interface WranglerSettings {
  readonly name: string
  readonly main: string
  readonly compatibilityDate: string
  readonly compatibilityFlags: readonly string[]
  readonly crons: readonly string[]
  readonly kvBindings: readonly string[]
}

export const wranglerToml = fileURLToPath(new URL('../../../edge/wrangler.toml', import.meta.url))

export function readWranglerSettings(
  text: string = readFileSync(wranglerToml, 'utf8'),
): WranglerSettings {
  let table = ''
  const flat: Record<string, string> = {}
  const kvBindings: string[] = []
  let crons: string[] = []
  let flags: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim()
    if (line === '') continue
    const header = /^\[\[?([^\]]+)\]\]?$/.exec(line)
    if (header?.[1]) {
      table = header[1]
      if (table === 'vars')
        throw new Error(
          'wrangler.toml: no [vars]: the edge reads its variables and defaults from core/src/edge-settings.ts',
        )
      continue
    }
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.+)$/.exec(line)
    if (!kv?.[1] || kv[2] === undefined) throw new Error(`wrangler.toml: cannot read line "${raw}"`)
    const [key, value] = [kv[1], kv[2]]
    const list = () => [...value.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '')
    const string = () => /^"([^"]*)"$/.exec(value)?.[1] ?? value
    if (table === '' && key === 'compatibility_flags') flags = list()
    else if (table === '') flat[key] = string()
    else if (table === 'triggers' && key === 'crons') crons = list()
    else if (table === 'kv_namespaces' && key === 'binding') kvBindings.push(string())
  }
  const required = (key: string) => {
    const value = flat[key]
    if (!value) throw new Error(`wrangler.toml: missing ${key}`)
    return value
  }
  return {
    name: required('name'),
    main: required('main'),
    compatibilityDate: required('compatibility_date'),
    compatibilityFlags: flags,
    crons,
    kvBindings,
  }
}
