import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { settingsOf } from '../src/env.ts'
import { type Admission, defaultLeaseLimits, type Take, TokenLeases } from '../src/lease.ts'
import { upstashTake } from '../src/ratelimit.ts'

/**
 * Leases on the real limiter: @upstash/ratelimit and @upstash/redis inside workerd, against the
 * project's Upstash stand-in in front of real Redis. Each "isolate" is a TokenLeases of its own,
 * as each workerd isolate holds its own.
 */
const windowMs = 1000
const prefix = `test:lease:${Date.now().toString(36)}`
let merchants = 0

function isolate(limitPerSec: number, limits = defaultLeaseLimits) {
  const real = upstashTake(settingsOf(env).upstash, limitPerSec, prefix)
  const counts = { takes: 0 }
  const take: Take = (merchantId, tokens) => {
    counts.takes++
    return real(merchantId, tokens)
  }
  const leases = new TokenLeases(take, windowMs, limits)
  const work: Promise<unknown>[] = []
  return {
    counts,
    leases,
    /** A take of the kind another isolate makes, straight on the limiter. */
    other: real,
    admit: (merchantId: string) => leases.admit(merchantId, (w) => work.push(w)),
    /** Background takes (top-ups, next-window leases) must finish, as waitUntil lets them. */
    settled: () => Promise.allSettled(work),
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Admitted requests per window, the window named by its reset time, as the edge reports it. */
function perWindow(answers: readonly Admission[]): Map<number, number> {
  const counts = new Map<number, number>()
  for (const a of answers) if (a.success) counts.set(a.reset, (counts.get(a.reset) ?? 0) + 1)
  return counts
}

describe('token leases on the real limiter', () => {
  it('lets a busy merchant through mostly without a round trip', async () => {
    const edge = isolate(1000)
    const merchant = `mer_busy_${merchants++}`
    const answers: Admission[] = []
    for (let i = 0; i < 150; i++) {
      answers.push(await edge.admit(merchant))
      await sleep(10)
    }
    await edge.settled()
    expect(answers.every((a) => a.success && a.limit === 1000)).toBe(true)
    const byLease = answers.filter((a) => a.source === 'lease').length
    expect(answers[0]?.source).toBe('limiter')
    // Every request used to be a round trip: now most are answered from the isolate's lease.
    expect(byLease).toBeGreaterThan(answers.length / 2)
    expect(edge.counts.takes).toBeLessThan(answers.length / 2)
  })

  it('never admits more than the limit in a window, however many isolates ask', async () => {
    const isolates = [isolate(20), isolate(20), isolate(20)]
    const merchant = `mer_burst_${merchants++}`
    const answers: Admission[] = []
    for (let wave = 0; wave < 4; wave++) {
      const burst = isolates.flatMap((edge) =>
        Array.from({ length: 15 }, () => edge.admit(merchant)),
      )
      answers.push(...(await Promise.all(burst)))
      await sleep(300)
    }
    await Promise.all(isolates.map((edge) => edge.settled()))
    expect(answers.some((a) => !a.success)).toBe(true)
    for (const admitted of perWindow(answers).values()) expect(admitted).toBeLessThanOrEqual(20)
    const refused = answers.find((a) => !a.success)
    expect(refused?.reset).toBeGreaterThan(Date.now() - 5 * windowMs)
  })

  it('a lone isolate gets the whole window: no token is lost to a refused batch', async () => {
    // 47 a second: leases of up to 4 (a tenth), so a window's last tokens are fewer than a lease.
    const edge = isolate(47)
    const merchant = `mer_lone_${merchants++}`
    const answers: Admission[] = []
    const started = Date.now()
    while (Date.now() - started < 2.5 * windowMs) {
      answers.push(await edge.admit(merchant))
      await sleep(5)
    }
    const ended = Date.now()
    await edge.settled()
    const whole = [...perWindow(answers)].filter(
      ([reset]) => reset - windowMs > started && reset < ended,
    )
    expect(whole.length).toBeGreaterThan(0)
    // A take the limiter did not answer within its timeout still counts in Redis, unseen here:
    // then a window may come out short, but never over.
    const unchecked = answers.some((a) => a.source === 'unchecked')
    for (const [, admitted] of whole)
      if (unchecked) expect(admitted).toBeLessThanOrEqual(47)
      else expect(admitted).toBe(47)
    expect(answers.filter((a) => a.source === 'spent').length).toBeGreaterThan(0)
    expect(answers.filter((a) => !a.success && a.source === 'limiter').length).toBeGreaterThan(0)
  })

  it('gives a refused batch back, so the last tokens of a window still admit requests', async () => {
    // No top-ups or next-window leases here: each take is one this test can count.
    const edge = isolate(47, {
      ...defaultLeaseLimits,
      prefetchAfterTokens: Number.POSITIVE_INFINITY,
    })
    const merchant = `mer_refund_${merchants++}`
    // Start just after a window opens, so every step below falls in the same window.
    await sleep(windowMs - (Date.now() % windowMs) + 5)
    const answers: Admission[] = []
    for (let i = 0; i < 4; i++) answers.push(await edge.admit(merchant)) // takes 1, 1, 2
    // Another isolate leases 41: 2 are left, and this isolate believes in 43.
    expect((await edge.other(merchant, 41)).remaining).toBe(2)
    // Its lease of 4 is refused and given back; one-token takes then admit the last 2.
    for (let i = 0; i < 3; i++) answers.push(await edge.admit(merchant))
    await edge.settled()
    expect(new Set(answers.map((a) => a.reset)).size).toBe(1)
    expect(answers.map((a) => a.success)).toEqual([true, true, true, true, true, true, false])
    expect(answers.at(-1)?.remaining).toBe(0)
  })

  it('keeps at most merchantsMax merchants, forgetting the longest known when all are in use', async () => {
    const edge = isolate(100, { ...defaultLeaseLimits, merchantsMax: 10 })
    const crowd = Array.from({ length: 35 }, () => `mer_crowd_${merchants++}`)
    // All in one window, so none of them is stale: only the bound makes room.
    await sleep(windowMs - (Date.now() % windowMs) + 5)
    const answers: Admission[] = []
    for (const merchant of crowd) {
      answers.push(await edge.admit(merchant))
      expect(edge.leases.merchantCount).toBeLessThanOrEqual(10)
    }
    // The first merchant was forgotten: it asks the limiter again, and is admitted.
    answers.push(await edge.admit(crowd[0] as string))
    await edge.settled()
    expect(answers.every((a) => a.success)).toBe(true)
    expect(answers.at(-1)?.source).toBe('limiter')
  })
})
