import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Spec } from '@meridian/core'
import { variables as edgeVariables } from '@meridian/core/edge-settings'
import { parse, TomlError } from 'smol-toml'
import { z } from 'zod'

/**
 * The worker's name, compatibility settings, cron, KV and Durable Object bindings and its Durable
 * Object migration come from edge/wrangler.toml, the file `pnpm start` runs the edge with, so the
 * deployed worker cannot drift from the tested one. The file is parsed as TOML (smol-toml) and
 * checked: what we read must be there with its type, and a [vars] table is refused, because the
 * worker's variables and their defaults are core/src/edge-settings.ts, and EdgeStack writes them
 * with its toEnv. Other keys wrangler knows (send_metrics, …) are left to wrangler.
 */
export interface WranglerSettings {
  readonly name: string
  readonly main: string
  readonly compatibilityDate: string
  readonly compatibilityFlags: readonly string[]
  readonly crons: readonly string[]
  /** One KV namespace each: EdgeStack provisions a namespace per binding. */
  readonly kvBindings: readonly string[]
  /** Durable Object namespaces of classes the worker itself exports. */
  readonly durableObjects: readonly DurableObjectBinding[]
  /** The migration that creates those classes; absent while the worker has none. */
  readonly migration?: DurableObjectMigration
}

export interface DurableObjectBinding {
  readonly name: string
  readonly className: string
}

export interface DurableObjectMigration {
  readonly tag: string
  /** Classes whose namespaces store in SQLite (the only kind new accounts may create). */
  readonly newSqliteClasses: readonly string[]
}

export const wranglerToml = fileURLToPath(new URL('../../../edge/wrangler.toml', import.meta.url))

const bindingName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'binding names look like API_KEYS')
const wranglerFile = z.object({
  name: z.string().min(1),
  main: z.string().min(1),
  compatibility_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  compatibility_flags: z.array(z.string()).default([]),
  triggers: z.object({ crons: z.array(z.string()).default([]) }).default({ crons: [] }),
  kv_namespaces: z.array(z.object({ binding: bindingName })).default([]),
  // Strict: a `script_name` (a class of another worker) or an `environment` would need a namespace
  // this stack does not provision; refused rather than deployed half-bound.
  durable_objects: z
    .strictObject({
      bindings: z.array(z.strictObject({ name: bindingName, class_name: z.string().min(1) })),
    })
    .default({ bindings: [] }),
  // Strict for the same reason: a renamed, deleted or transferred class is a step this stack does
  // not express yet, and dropping it silently would deploy a worker whose classes do not match.
  migrations: z
    .array(z.strictObject({ tag: z.string().min(1), new_sqlite_classes: z.array(z.string()) }))
    .max(1, {
      error:
        'one [[migrations]] entry at most: Terraform uploads the migration with every deploy and cannot read the deployed tag as wrangler does, so a second step needs old_tag support in EdgeStack first',
    })
    .default([]),
  vars: z
    .undefined({
      error: 'no [vars]: the edge reads its variables and defaults from core/src/edge-settings.ts',
    })
    .optional(),
})

/** Every variable the deployed worker is given: core's edge settings (the operator key hash included). */
export const workerVariables: Spec = edgeVariables

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
  const kvBindings = w.kv_namespaces.map((kv) => kv.binding)
  const durableObjects = w.durable_objects.bindings.map((b) => ({
    name: b.name,
    className: b.class_name,
  }))
  const [step] = w.migrations
  const migration = step ? { tag: step.tag, newSqliteClasses: step.new_sqlite_classes } : undefined

  const names = [...kvBindings, ...durableObjects.map((d) => d.name)]
  const repeated = names.filter((n, i) => names.indexOf(n) !== i)
  if (repeated.length > 0)
    throw new Error(`wrangler.toml: binding ${repeated.join(', ')} declared more than once`)
  // Cloudflare refuses to bind a class no migration created (API code 10061); say so at synth.
  const unmigrated = durableObjects.filter(
    (d) => !migration?.newSqliteClasses.includes(d.className),
  )
  if (unmigrated.length > 0)
    throw new Error(
      `wrangler.toml: no [[migrations]] creates ${unmigrated.map((d) => d.className).join(', ')} (new_sqlite_classes), so Cloudflare would refuse the binding`,
    )
  return {
    name: w.name,
    main: w.main,
    compatibilityDate: w.compatibility_date,
    compatibilityFlags: w.compatibility_flags,
    crons: w.triggers.crons,
    kvBindings,
    durableObjects,
    ...(migration ? { migration } : {}),
  }
}
