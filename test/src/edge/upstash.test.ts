import { randomBytes } from 'node:crypto'
import { startUpstashStandIn, type UpstashStandIn } from '@meridian/local'
import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueName } from '../harness/names.ts'

let upstash: UpstashStandIn
let redis: Redis
const prefix = `${uniqueName('upstash')}:`

beforeAll(async () => {
  upstash = await startUpstashStandIn({ token: randomBytes(16).toString('hex') })
  redis = new Redis({ url: upstash.url, token: upstash.token, enableTelemetry: false })
})
afterAll(async () => {
  await upstash?.close()
})

describe('the Upstash REST stand-in, driven by the real @upstash/redis client', () => {
  it('runs single commands, with base64-encoded answers decoded by the client', async () => {
    expect(await redis.set(`${prefix}a`, 'héllo wörld')).toBe('OK')
    expect(await redis.get(`${prefix}a`)).toBe('héllo wörld')
    expect(await redis.incr(`${prefix}n`)).toBe(1)
    expect(await redis.get(`${prefix}missing`)).toBeNull()
    await redis.set(`${prefix}json`, { nested: [1, 2] })
    expect(await redis.get(`${prefix}json`)).toEqual({ nested: [1, 2] })
  })

  it('runs pipelines and MULTI/EXEC transactions', async () => {
    const p = redis.pipeline()
    p.set(`${prefix}p1`, 'x')
    p.incr(`${prefix}p2`)
    p.get(`${prefix}p1`)
    expect(await p.exec()).toEqual(['OK', 1, 'x'])
    const m = redis.multi()
    m.incr(`${prefix}m`)
    m.incr(`${prefix}m`)
    expect(await m.exec()).toEqual([1, 2])
  })

  it('reports Redis errors and refuses a wrong token', async () => {
    await redis.set(`${prefix}str`, 'x')
    await expect(redis.incr(`${prefix}str`)).rejects.toThrow(/not an integer/)
    const wrong = new Redis({
      url: upstash.url,
      token: 'nope',
      enableTelemetry: false,
      retry: false,
    })
    await expect(wrong.get('x')).rejects.toThrow(/Unauthorized/)
  })

  it('backs @upstash/ratelimit: scripts load on NOSCRIPT, limits hold, reset is reported', async () => {
    await redis.scriptFlush()
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(3, '10 s'),
      prefix: `${prefix}rl`,
      analytics: false,
    })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await limiter.limit('mer_x'))
    expect(results.map((r) => r.success)).toEqual([true, true, true, false])
    expect(results[3]?.reset).toBeGreaterThan(Date.now())
    expect((await limiter.limit('mer_other')).success).toBe(true)
  })
})
