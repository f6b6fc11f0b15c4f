import {
  type EventEnvelope,
  type EventType,
  envelope,
  type HybridClock,
  newId,
} from '@meridian/core'

/** Events are stamped by the region that writes them, with its hybrid logical clock. */
export function makeEvent(
  clock: HybridClock,
  type: EventType,
  merchantId: string,
  payload: Record<string, unknown>,
): EventEnvelope {
  return envelope({
    id: newId('event'),
    type,
    merchantId,
    originRegion: clock.node,
    hlc: clock.now(),
    payload,
  })
}
