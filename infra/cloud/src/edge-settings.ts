import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse, TomlError } from 'smol-toml'
import { z } from 'zod'

/**
 * The worker's name, compatibility settings, cron and KV bindings come from edge/wrangler.toml, the
 * file `pnpm start` runs the edge with, so the deployed worker cannot drift from the tested one.
 * The file is parsed as TOML (smol-toml) and checked: what we read must be there with its type,
 * and a [vars] table is refused, because the worker's variables and their defaults are
 * core/src/edge-settings.ts, and EdgeStack writes them with its toEnv. Other keys wrangler knows
 * (send_metrics, …) are left to wrangler.
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

const wranglerFile = z.object({
  name: z.string().min(1),
  main: z.string().min(1),
  compatibility_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  compatibility_flags: z.array(z.string()).default([]),
  triggers: z.object({ crons: z.array(z.string()).default([]) }).default({ crons: [] }),
  kv_namespaces: z.array(z.object({ binding: z.string().min(1) })).default([]),
  vars: z
    .undefined({
      error: 'no [vars]: the edge reads its variables and defaults from core/src/edge-settings.ts',
    })
    .optional(),
})

export function readWranglerSettings(
  text: string = readFileSync(wranglerToml, 'utf8'),
): WranglerSettings {
  let toml: unknown
  try {
    toml = parse(text)
  } catch (error) {
    if (!(error instanceof TomlError)) throw error
    throw new Error(`wrangler.toml: not TOML: ${error.message.split('\n')[0]}`, { cause: error })
  }
  const checked = wranglerFile.safeParse(toml)
  if (!checked.success)
    throw new Error(`wrangler.toml: ${z.prettifyError(checked.error).replaceAll('\n', '; ')}`)
  const w = checked.data
  return {
    name: w.name,
    main: w.main,
    compatibilityDate: w.compatibility_date,
    compatibilityFlags: w.compatibility_flags,
    crons: w.triggers.crons,
    kvBindings: w.kv_namespaces.map((kv) => kv.binding),
  }
}
