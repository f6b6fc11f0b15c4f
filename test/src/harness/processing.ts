import {
  dialects,
  type RunningSimulator,
  type SimFaults,
  simNames,
  startSimulator,
} from '@meridian/processor-sim'
import type { RegionName } from './kafka.ts'
import { startTestRegion, type TestRegion, type TestRegionOverrides } from './region.ts'

/** Fast simulators for tests: the faults under test are switched on per test. */
export const testSimFaults: Partial<SimFaults> = { latencyMsMin: 2, latencyMsMax: 15 }

export interface ProcessingRegion extends TestRegion {
  readonly sims: readonly RunningSimulator[]
  /** Authorizations the simulators performed for this payment, over every processor. */
  authorizations(paymentId: string): number
  /** Set faults on every simulator (or one). */
  setFaults(faults: Partial<SimFaults>, name?: string): void
}

/** A region with every role on, in front of three real processor simulators (real HTTP). */
export async function startProcessingRegion(
  label: string,
  options: {
    faults?: Partial<SimFaults>
    region?: RegionName
    overrides?: TestRegionOverrides
    /** Share simulators between regions (processors are global third parties). */
    sims?: readonly RunningSimulator[]
  } = {},
): Promise<ProcessingRegion> {
  const owned = options.sims === undefined
  const sims =
    options.sims ??
    (await Promise.all(
      simNames.map((name) =>
        startSimulator(name, dialects[name], { faults: { ...testSimFaults, ...options.faults } }),
      ),
    ))
  const region = await startTestRegion(label, options.region ?? 'us-east', {
    roles: { api: true, relay: true, workers: true, webhooks: true, reconciler: true },
    processorUrls: Object.fromEntries(sims.map((s) => [s.name, s.url])),
    processorTimeoutMs: 400,
    // Three days of webhook retries squeezed into about 26 seconds.
    webhookTimeScale: 0.0001,
    reconciler: {
      stuckAfterMs: 1000,
      intervalMs: 300,
      authorizationTtlMs: 7 * 24 * 3600_000,
      unsentFailAfterMs: 3600_000,
    },
    ...options.overrides,
  })
  return {
    ...region,
    sims,
    authorizations: (id) =>
      sims.reduce((sum, s) => sum + (s.engine.stats.authorizations.get(id) ?? 0), 0),
    setFaults(faults, name) {
      for (const s of sims)
        if (name === undefined || s.name === name) Object.assign(s.faults, faults)
    },
    async stop() {
      await region.stop()
      if (owned) await Promise.all(sims.map((s) => s.close()))
    },
  }
}
