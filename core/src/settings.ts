import { z } from 'zod'

/**
 * Settings read from environment variables, one spec per service. A spec maps each variable's
 * name (written there and nowhere else) to how its text is read (a zod schema: `.default()` or
 * `.optional()` when it may be unset) and how a setting is written back as text. From one spec
 * come both directions: `readEnv` for the service's `fromEnv`, `writeEnv` for the `toEnv` that
 * infra/local and infra/cloud build every service's environment with, so the two cannot drift.
 *
 * Pure: edge, regions, replication and infra all import it.
 */

/** An environment as a service reads it: names to text, an unset variable absent or undefined. */
export type Env = Readonly<Record<string, string | undefined>>

export interface Variable<I, Z extends z.ZodType = z.ZodType, K extends string = string> {
  /**
   * Names the setting the variable carries (usually the settings field): how infra hands over a
   * variable's text as it already is (a Terraform variable) or as a reference to a secret store.
   */
  readonly key: K
  /** Reads the text; rejects what the service cannot run with. */
  readonly schema: Z
  /** The setting as text; undefined: not written (the service takes its default). */
  readonly write: (input: I) => string | undefined
  /** A credential: the cloud hands it over as a reference to a secret store, never as text. */
  readonly secret: boolean
}

/** Any service's spec (a variable's `write` reads some input; here its type does not matter). */
export type Spec = Readonly<Record<string, Variable<never, z.ZodType, string>>>

type OutputOf<V> = V extends Variable<never, infer Z, string> ? z.output<Z> : never
type KeyOfVariable<V> = V extends Variable<never, z.ZodType, infer K> ? K : never

/** What `readEnv` returns for a spec: each variable's name and the value its schema read. */
export type Parsed<S extends Spec> = { -readonly [N in keyof S]: OutputOf<S[N]> }
/** The keys of a spec's variables (the settings they carry). */
export type KeyOf<S extends Spec> = KeyOfVariable<S[keyof S]>
/** The environment a spec describes, as a worker's bindings are typed: unset ones optional. */
export type EnvOf<S extends Spec> = {
  readonly [N in keyof S as undefined extends z.input<SchemaOf<S[N]>> ? never : N]: string
} & {
  readonly [N in keyof S as undefined extends z.input<SchemaOf<S[N]>> ? N : never]?: string
}
type SchemaOf<V> = V extends Variable<never, infer Z, string> ? Z : never

/** Makes a spec's entries for settings input `I`: `plain(key, schema, write)`, `secret(…)`. */
export function variables<I>() {
  const make =
    (secret: boolean) =>
    <const K extends string, Z extends z.ZodType>(
      key: K,
      schema: Z,
      write: (input: I) => string | undefined,
    ): Variable<I, Z, K> => ({ key, schema, write, secret })
  return { plain: make(false), secret: make(true) }
}

/** Thrown for a variable that is missing or unreadable; the message names it, never its value. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError'
}

/**
 * Read a service's variables from `env`: every problem in one line that names the variable,
 * prefixed with `<service> configuration:`. Variables the spec does not name are ignored.
 */
export function readEnv<S extends Spec>(service: string, spec: S, env: Env): Parsed<S> {
  const shape = Object.fromEntries(Object.entries(spec).map(([name, v]) => [name, v.schema]))
  const parsed = z.object(shape).safeParse(env)
  if (!parsed.success)
    throw new SettingsError(
      `${service} configuration: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
    )
  return parsed.data as Parsed<S>
}

/**
 * Write settings as a spec's variables. `texts` gives a setting's text as it already is, by
 * key (the cloud's Terraform variables); a variable that writes undefined is left out.
 */
export function writeEnv<I>(
  spec: Readonly<Record<string, Variable<I, z.ZodType, string>>>,
  input: I,
  texts: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(spec)) {
    const text = texts[v.key] ?? v.write(input)
    if (text !== undefined) out[name] = text
  }
  return out
}

/** Variables whose value comes from elsewhere (a secret store, a parameter), by key. */
export function references<S extends Spec>(
  spec: S,
  refs: Readonly<Partial<Record<KeyOf<S>, string>>>,
): { name: string; valueFrom: string }[] {
  return Object.entries(spec).flatMap(([name, v]) => {
    const valueFrom = (refs as Readonly<Record<string, string | undefined>>)[v.key]
    return valueFrom === undefined ? [] : [{ name, valueFrom }]
  })
}

/** Every variable a spec reads. */
export function variableNames(spec: Spec): string[] {
  return Object.keys(spec)
}

/** The variables a service cannot start without (its schema rejects them unset). */
export function requiredNames(spec: Spec): string[] {
  return Object.entries(spec)
    .filter(([, v]) => !v.schema.safeParse(undefined).success)
    .map(([name]) => name)
}

/** The credentials among a spec's variables. */
export function secretNames(spec: Spec): string[] {
  return Object.entries(spec)
    .filter(([, v]) => v.secret)
    .map(([name]) => name)
}

/**
 * What is wrong with the names an environment sets, for a service with this spec: set but read by
 * nobody (`unread`), and required but not set (`missing`).
 */
export function checkNames(
  spec: Spec,
  names: Iterable<string>,
): { unread: string[]; missing: string[] } {
  const set = new Set(names)
  return {
    unread: [...set].filter((n) => !Object.hasOwn(spec, n)).sort(),
    missing: requiredNames(spec).filter((n) => !set.has(n)),
  }
}
