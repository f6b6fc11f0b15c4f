import {
  defaultPlacement,
  type Placement,
  placementProblem,
  placementSchema,
  type RegionRegistry,
} from '@meridian/core'
import { IsolateCache, kvCacheTtlSec } from './isolate-cache.ts'
import type { Background } from './lease.ts'
import { edgeLog } from './log.ts'

/**
 * A merchant's placement as the edge routes by it: the `PLACEMENTS` KV copy (merchant id →
 * placement JSON, written by the control plane, docs/control-plane.md), cached in the isolate for
 * `placementCacheTtlMs`. A merchant KV holds nothing (valid) for routes by core's
 * `defaultPlacement` (by hash, epoch 1); a region that knows better still fences.
 */
export const placementCacheTtlMs = 2000
const placementCacheSizeMax = 10_000

/** Where the placement a request is routed by came from, for Server-Timing. */
export type PlacementSource = 'cache' | 'kv' | 'default'

export interface PlacementLookup {
  readonly placement: Placement
  readonly source: PlacementSource
}

// undefined: KV holds no usable placement (cached too, so a merchant without one costs no reads).
const cache = new IsolateCache<Placement | undefined>(placementCacheTtlMs, placementCacheSizeMax)

/** Forget the isolate's copy: the next lookup reads KV. */
export function dropPlacement(merchantId: string): void {
  cache.delete(merchantId)
}

/** The stored value as a placement this registry can route by; anything else is logged and missing. */
function parseStored(
  registry: RegionRegistry,
  merchantId: string,
  stored: unknown,
): Placement | undefined {
  if (stored === null) return undefined
  const parsed = placementSchema.safeParse(stored)
  const problem = !parsed.success
    ? parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')
    : parsed.data.merchantId !== merchantId
      ? `stored under ${merchantId} but names ${parsed.data.merchantId}`
      : placementProblem(registry, parsed.data)
  if (problem === undefined && parsed.success) return parsed.data
  edgeLog('error', 'invalid placement in KV; routing by the default', { merchantId, problem })
  return undefined
}

/**
 * The placement to route `merchantId` by. `fresh` skips the isolate cache (after a region said the
 * placement moved); KV's own location cache (`kvCacheTtlSec`) still applies in the cloud.
 */
export async function lookupPlacement(
  kv: KVNamespace,
  registry: RegionRegistry,
  merchantId: string,
  fresh = false,
  /** The request's waitUntil, for refreshing the cached placement ahead of its expiry. */
  background?: Background,
): Promise<PlacementLookup> {
  const read = async () => {
    const text = await kv.get(merchantId, { type: 'text', cacheTtl: kvCacheTtlSec })
    return parseStored(registry, merchantId, text === null ? null : jsonOrText(text))
  }
  const cached = fresh ? undefined : cache.get(merchantId)
  let stored: Placement | undefined
  let source: PlacementSource
  if (cached) {
    if (cached.refresh && background) cache.refreshIn(background, merchantId, read)
    else if (cached.refresh) cache.refreshFailed(merchantId)
    stored = cached.value
    source = 'cache'
  } else {
    const began = Date.now()
    try {
      stored = await read()
    } catch (error) {
      // KV down: the hash route still reaches a region, which fences what it must.
      edgeLog('warn', 'placement read failed; routing by the default', { merchantId, error })
      return { placement: defaultPlacement(registry, merchantId), source: 'default' }
    }
    cache.set(merchantId, stored, began)
    source = 'kv'
  }
  if (stored) return { placement: stored, source }
  return { placement: defaultPlacement(registry, merchantId), source: 'default' }
}

/** Not JSON is as invalid as the wrong JSON: keep the text so the schema reports it. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
