import type { Env as EdgeEnv } from '../src/env.ts'

declare global {
  namespace Cloudflare {
    /** The bindings the tests see: the worker's own, plus the Node-side control server. */
    interface Env extends EdgeEnv {
      readonly CONTROL_URL: string
    }
  }
}
