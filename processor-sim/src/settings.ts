/**
 * The processor simulators' settings: every environment variable `main.ts` reads, named once in
 * `variables`, read by `fromEnv` and written by `toEnv` (infra/local starts them with it).
 */
import { fileURLToPath } from 'node:url'
import { type Env, readEnv, variables as variablesFor, writeEnv } from '@meridian/core'
import { z } from 'zod'
import { defaultFaults, type SimFaults } from './server.ts'

/** The file the simulators' process runs (`node --import tsx <entryPoint>`). */
export const entryPoint = fileURLToPath(new URL('./main.ts', import.meta.url))

export interface SimulatorSettings {
  /** Each processor listens on portBase + 1, 2, 3; unset: free ports. */
  readonly portBase?: number
  /** The starting faults of all three (over `defaultFaults`). */
  readonly faults: Partial<SimFaults>
  /** Makes their randomness replayable (processor i gets seed + i). */
  readonly seed?: number
}

export type SimulatorSettingsInput = Partial<SimulatorSettings>

const faultsSchema = z.strictObject(
  Object.fromEntries(
    Object.keys(defaultFaults).map((name) => [name, z.number().nonnegative().optional()]),
  ),
)

const json = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' })
    return z.NEVER
  }
})

const v = variablesFor<SimulatorSettingsInput>()
const text = (n: number | undefined) => (n === undefined ? undefined : String(n))

/** Every variable the simulators read: the only place their names are written. */
export const variables = {
  SIM_PORT_BASE: v.plain('portBase', z.coerce.number().int().min(0).max(65_000).optional(), (s) =>
    text(s.portBase),
  ),
  SIM_FAULTS: v.plain('faults', json.pipe(faultsSchema).optional(), (s) =>
    s.faults && Object.keys(s.faults).length > 0 ? JSON.stringify(s.faults) : undefined,
  ),
  SIM_SEED: v.plain('seed', z.coerce.number().int().optional(), (s) => text(s.seed)),
}

export function fromEnv(env: Env = process.env): SimulatorSettings {
  const e = readEnv('simulators', variables, env)
  return {
    ...(e.SIM_PORT_BASE === undefined ? {} : { portBase: e.SIM_PORT_BASE }),
    faults: (e.SIM_FAULTS ?? {}) as Partial<SimFaults>,
    ...(e.SIM_SEED === undefined ? {} : { seed: e.SIM_SEED }),
  }
}

/** The variables that tell the simulators `settings`; `fromEnv(toEnv(s))` gives `s` back. */
export function toEnv(settings: SimulatorSettingsInput): Record<string, string> {
  return writeEnv(variables, settings)
}
