import {
  type EventEnvelope,
  type EventType,
  envelope,
  type HybridClock,
  newId,
} from '@meridian/core'

/**
 * Run `fn` with `Date.now()` reading the model's virtual time. The workers' state transitions
 * (regions' changes.ts) stamp a few fields with `Date.now()` (an authorization's time, an
 * automatic capture's creation); here they must read the region's virtual clock, or a run would
 * not replay. `fn` is synchronous, so nothing else runs while the clock is swapped.
 */
export function atTime<T>(nowMs: number, fn: () => T): T {
  const real = Date.now
  Date.now = () => nowMs
  try {
    return fn()
  } finally {
    Date.now = real
  }
}

/** An event as regions' makeEvent stamps it (its own id is not used: ModelEvent ids are). */
export function makeModelEvent(
  clock: HybridClock,
  type: EventType,
  merchantId: string,
  payload: Record<string, unknown>,
): EventEnvelope {
  const hlc = clock.now()
  return envelope({
    id: newId('event', hlc.wallMs),
    type,
    merchantId,
    originRegion: clock.node,
    hlc,
    payload,
  })
}
