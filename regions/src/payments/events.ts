import {
  type EventEnvelope,
  type EventType,
  envelope,
  eventIdFor,
  type HybridClock,
  newId,
} from '@meridian/core'

/**
 * Events are stamped by the region that writes them, with its hybrid logical clock. An event
 * about one transition of one object (`subjectId`: the payment, operation or refund it settles)
 * has an id derived from both, the same in every region that makes that transition, so the
 * webhooks two regions send for it carry one event id (eventIdFor).
 */
export function makeEvent(
  clock: HybridClock,
  type: EventType,
  merchantId: string,
  payload: Record<string, unknown>,
  subjectId?: string,
): EventEnvelope {
  return envelope({
    id: subjectId === undefined ? newId('event') : eventIdFor(type, subjectId),
    type,
    merchantId,
    originRegion: clock.node,
    hlc: clock.now(),
    payload,
  })
}
