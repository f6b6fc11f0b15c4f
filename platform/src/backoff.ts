/**
 * The one backoff rule every retry loop uses: a ceiling that doubles per attempt from
 * `delayMsMin` up to `delayMsMax`, then jitter so that many clients retrying together spread out.
 *
 * Ours rather than cockatiel's: cockatiel's backoff generators draw from Math.random and its
 * breaker reads the wall clock, while the money-path model (replication/src/sim/money) replays a
 * whole run from one seed on virtual time; here the random source is a parameter.
 */
export interface Backoff {
  readonly delayMsMin: number
  readonly delayMsMax: number
  /** Where in [low·ceiling, high·ceiling) the delay falls: one of the jitters below. */
  readonly jitter: Jitter
}

export type Jitter = readonly [low: number, high: number]
/** Anywhere in [0, ceiling): AWS's "full jitter", which spreads retries the most. */
export const fullJitter: Jitter = [0, 1]
/** In [ceiling/2, ceiling): spread, but never an immediate retry. */
export const halfJitter: Jitter = [0.5, 1]
/** ±20% around the ceiling: the schedule stays recognisable (webhook retries). */
export const fifthJitter: Jitter = [0.8, 1.2]
/** The ceiling itself: one process restarting itself has nobody to spread out from. */
export const noJitter: Jitter = [1, 1]

/** The pause before retry number `attempt` (0 for the first retry), in whole milliseconds. */
export function backoffDelayMs(
  attempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(backoff.delayMsMax, backoff.delayMsMin * 2 ** Math.max(0, attempt))
  const [low, high] = backoff.jitter
  const delay = Math.floor(ceiling * (low + (high - low) * random()))
  // A draw just under 1 can still round up to `high` in floating point: keep that end open.
  return high > low ? Math.min(delay, Math.ceil(ceiling * high) - 1) : delay
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
