import { backoffDelayMs, fifthJitter } from '@meridian/platform'

/**
 * When to retry a failed delivery: exponential backoff with jitter, for up to three days (as
 * Stripe does), then the delivery is dead-lettered. `timeScale` compresses the whole schedule for
 * tests and drills (0.0001 turns three days into 26 seconds); production runs at 1.
 */
export interface RetrySchedule {
  readonly firstDelayMs: number
  readonly delayMsMax: number
  readonly windowMs: number
  readonly timeScale: number
}

export const webhookSchedule: RetrySchedule = {
  firstDelayMs: 30_000,
  delayMsMax: 6 * 60 * 60_000,
  windowMs: 3 * 24 * 60 * 60_000,
  timeScale: 1,
}

/** Delay before attempt `attempts + 1`, or undefined when the window is used up: dead-letter it. */
export function nextDelayMs(
  schedule: RetrySchedule,
  attempts: number,
  elapsedMs: number,
  random: () => number = Math.random,
): number | undefined {
  if (elapsedMs >= schedule.windowMs * schedule.timeScale) return undefined
  // ±20% jitter keeps a recovering receiver from being hit by every retry at the same instant.
  const backoff = {
    delayMsMin: schedule.firstDelayMs,
    delayMsMax: schedule.delayMsMax,
    jitter: fifthJitter,
  }
  return Math.max(1, Math.round(backoffDelayMs(attempts - 1, backoff, random) * schedule.timeScale))
}
