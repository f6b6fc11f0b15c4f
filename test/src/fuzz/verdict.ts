import { errorObjectSchema } from '@meridian/core'
import { readAnswer } from '../harness/client.ts'

/** How many cases each target gets per run; FUZZ_RUNS_SCALE scales them (e.g. 10 for a long soak). */
/** Environment variables where there are any (Node); inside workerd there are none. */
const environment: Record<string, string | undefined> =
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {}
const scale = Number(environment.FUZZ_RUNS_SCALE ?? '1')
export const fuzzRuns = { region: Math.round(1600 * scale), edge: Math.round(500 * scale) }

/** A run is random unless FUZZ_SEED replays one; fast-check prints the seed of any failure. */
export function fuzzSeed(): { seed?: number } {
  const seed = environment.FUZZ_SEED
  return seed ? { seed: Number(seed) } : {}
}

export interface Verdict {
  readonly status: number
  readonly text: string
  // biome-ignore lint/suspicious/noExplicitAny: the answer is arbitrary JSON, asserted on by the caller.
  readonly json: any
  /** The error object, when the answer is one (schema-checked). */
  readonly error: unknown
}

export async function verdictOf(response: Response): Promise<Verdict> {
  const { text, json } = await readAnswer(response)
  const parsed = errorObjectSchema.safeParse(json)
  return { status: response.status, text, json, error: parsed.success ? parsed.data : undefined }
}
