import { describe, expect, it } from 'vitest'
import { linkLagSeconds } from './link-lag.ts'

describe('link lag', () => {
  const last = { sentMs: 10_000, receivedMs: 10_040 }

  it("is the last heartbeat's trip while the next one is not yet due", () => {
    expect(linkLagSeconds(last, 1000, 10_500)).toBe(0.04)
    expect(linkLagSeconds(last, 1000, 11_000)).toBe(0.04)
  })

  it('grows with how overdue the next heartbeat is once the link stops', () => {
    expect(linkLagSeconds(last, 1000, 12_500)).toBe(1.5)
    expect(linkLagSeconds(last, 1000, 71_000)).toBe(60)
  })

  it('is never negative, whatever the clocks say', () => {
    expect(linkLagSeconds({ sentMs: 10_000, receivedMs: 9_000 }, 1000, 10_100)).toBe(0)
  })
})
