import type { Placement } from '@meridian/core'
import type { ForwardOutcome, PlacementRefusal } from './forward.ts'

/**
 * Between re-reads of a moving merchant's placement: a planned move publishes the new epoch
 * within a second or so once drained, and a region answers `merchant_moving` with Retry-After: 1.
 */
export const placementRetryDelayMs = 200

/** What routing one request needs; the app gives it KV, the health board and `forward`. */
export interface RouteDeps {
  /** The placement to route by; `fresh` skips the isolate's cache. */
  readonly placement: (fresh: boolean) => Promise<Placement>
  /** The regions to try for a placement, best first (the health board's order). */
  readonly order: (placement: Placement) => readonly string[]
  /** One attempt at one region, signed with the placement's epoch. */
  readonly attempt: (region: string, placement: Placement) => Promise<ForwardOutcome>
  /** A region refused the placement; called before waiting (drop the cache, log, time it). */
  readonly onRefused: (region: string, refusal: PlacementRefusal, placement: Placement) => void
  /** Safe to send twice (reads, and writes with an Idempotency-Key): failover and re-routing. */
  readonly canRetry: boolean
  readonly placementWaitMsMax: number
  readonly retryDelayMs?: number
  readonly sleep?: (ms: number) => Promise<void>
  readonly nowMs?: () => number
}

export type RouteResult =
  /** A region's answer (a refusal too, once the wait is over), for the merchant. */
  | { readonly result: 'answered'; readonly region: string; readonly response: Response }
  /** No region answered: the last failure's response, when one came with an answer. */
  | { readonly result: 'failed'; readonly lastFailure?: Response }

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Routes one request by the merchant's placement: its regions in health order, failing over on an
 * outage (retriable requests only). A `merchant_moving` or `placement_stale` answer is not an
 * outage: the next region must not take the write under the epoch being left (docs/control-plane.md),
 * so the whole route starts again from a fresh read of the placement, after `retryDelayMs`, for up
 * to `placementWaitMsMax`; then the region's refusal (with its Retry-After) is the answer.
 */
export async function routeByPlacement(d: RouteDeps): Promise<RouteResult> {
  const nowMs = d.nowMs ?? Date.now
  const sleep = d.sleep ?? sleepMs
  const retryDelayMs = d.retryDelayMs ?? placementRetryDelayMs
  const startedMs = nowMs()
  let placement = await d.placement(false)
  for (;;) {
    let lastFailure: Response | undefined
    let refused: { region: string; refusal: PlacementRefusal; response: Response } | undefined
    const regions = d.order(placement)
    for (const region of d.canRetry ? regions : regions.slice(0, 1)) {
      const outcome = await d.attempt(region, placement)
      if (outcome.result === 'answered')
        return { result: 'answered', region, response: outcome.response }
      if (outcome.result === 'refused') {
        refused = { region, refusal: outcome.refusal, response: outcome.response }
        break
      }
      if (outcome.response) {
        await lastFailure?.body?.cancel()
        lastFailure = outcome.response
      }
    }
    if (!refused) return lastFailure ? { result: 'failed', lastFailure } : { result: 'failed' }
    await lastFailure?.body?.cancel()
    const waitedMs = nowMs() - startedMs
    if (!d.canRetry || waitedMs + retryDelayMs > d.placementWaitMsMax)
      return { result: 'answered', region: refused.region, response: refused.response }
    await refused.response.body?.cancel()
    d.onRefused(refused.region, refused.refusal, placement)
    await sleep(retryDelayMs)
    placement = await d.placement(true)
  }
}
