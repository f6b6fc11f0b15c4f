import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EdgeSettingsInput } from '@meridian/core/edge-settings'
import { freePort, type LocalEdge, startEdge } from '@meridian/local'
import { inject } from 'vitest'
import type { TestRegion } from './region.ts'

/** No one listens here: the regions a test does not start are down. */
const nowhere = 'http://127.0.0.1:9'

/**
 * The real edge worker on workerd in front of a test region, as merchants reach Meridian: API
 * keys at the edge (the sample merchants, onboarded through the operator API), its rate limit
 * on the suite's Upstash stand-in, its signature to the region.
 */
export async function startEdgeFront(
  region: TestRegion,
  settings: EdgeSettingsInput = {},
): Promise<LocalEdge> {
  const upstash = inject('upstash')
  const origins: Record<string, string> = {
    'us-east': nowhere,
    'eu-west': nowhere,
    'ap-south': nowhere,
  }
  origins[region.config.region] = region.running.url ?? nowhere
  return startEdge({
    runtime: 'workerd',
    port: await freePort(),
    stateDir: mkdtempSync(join(tmpdir(), 'meridian-edge-front-')),
    edgeSecret: region.secret,
    regionOrigins: origins,
    upstash,
    settings,
    log: () => undefined,
  })
}
