import { fleet } from '@meridian/core'
import { createEdgeApp, probe } from './app.ts'

export { FleetControl } from './control/fleet-control.ts'

import { type Env, settingsOf } from './env.ts'

const app = createEdgeApp()

/**
 * The edge worker: `fetch` serves merchants; `scheduled` (cron) probes every region's /readyz
 * so health is known even where no traffic flows.
 */
export default {
  fetch: app.fetch,
  async scheduled(
    _controller: ScheduledController,
    env: Env,
    ctx: ExecutionContext,
  ): Promise<void> {
    const timeoutMs = settingsOf(env).regionTimeoutMs
    ctx.waitUntil(Promise.all(fleet.regions.map((r) => probe(env, r.id, timeoutMs))))
  },
} satisfies ExportedHandler<Env>
