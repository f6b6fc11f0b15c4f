import { describe, expect, it } from 'vitest'
import { nextDelayMs, webhookSchedule } from './schedule.ts'

describe('webhook retry schedule', () => {
  it('backs off up to the cap and gives up after three days', () => {
    const mid = () => 0.5
    expect(nextDelayMs(webhookSchedule, 1, 0, mid)).toBe(30_000)
    expect(nextDelayMs(webhookSchedule, 2, 0, mid)).toBe(60_000)
    expect(nextDelayMs(webhookSchedule, 20, 0, mid)).toBe(6 * 3600_000)
    expect(nextDelayMs(webhookSchedule, 5, 3 * 24 * 3600_000, mid)).toBeUndefined()
    // Attempts over the whole window: enough retries to ride out a long outage.
    let elapsed = 0
    let attempts = 0
    for (
      let d = nextDelayMs(webhookSchedule, 1, 0, mid);
      d !== undefined;
      d = nextDelayMs(webhookSchedule, attempts + 1, elapsed, mid)
    ) {
      elapsed += d
      attempts++
    }
    expect(attempts).toBeGreaterThan(12)
    expect(elapsed).toBeGreaterThanOrEqual(3 * 24 * 3600_000)
  })

  it('compresses with the time scale', () => {
    const fast = { ...webhookSchedule, timeScale: 0.0001 }
    expect(nextDelayMs(fast, 1, 0, () => 0.5)).toBe(3)
    expect(nextDelayMs(fast, 1, 26_000, () => 0.5)).toBeUndefined()
  })
})
