import { type EdgeSettings, type EdgeVariables, fromEnv } from '@meridian/core/edge-settings'

/** The worker's bindings: its variables (settings.ts) and the KV namespaces it reads. */
export type Env = EdgeVariables & {
  /** sha256(api key) → {merchantId, mode, status, expiresAtMs?}. Keys themselves are never stored. */
  readonly API_KEYS: KVNamespace
  /** merchant id → placement (core/src/placement.ts), written by the control plane. */
  readonly PLACEMENTS: KVNamespace
  /**
   * The control plane (control/fleet-control.ts): one instance, named `fleet`. Typed with its
   * class where it is called (control/api.ts), so this module does not import the class back.
   */
  readonly FLEET_CONTROL: DurableObjectNamespace
}

// An isolate keeps one env object across requests: read it once, not on every request.
const read = new WeakMap<Env, EdgeSettings>()

/** The worker's settings from its bindings; a bad variable throws, naming it. */
export function settingsOf(env: Env): EdgeSettings {
  let settings = read.get(env)
  if (!settings) {
    settings = fromEnv(env as unknown as Readonly<Record<string, string | undefined>>)
    read.set(env, settings)
  }
  return settings
}
