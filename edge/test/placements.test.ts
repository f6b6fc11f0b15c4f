import { env, SELF } from 'cloudflare:test'
import { fleet, type Placement, routeOrder, sha256Hex } from '@meridian/core'
import { describe, expect, it } from 'vitest'
import { keyCacheTtlMs } from '../src/keys.ts'
import { placementCacheTtlMs } from '../src/placements.ts'

/**
 * Placements and API keys as the control plane writes them to KV, read by the edge inside workerd
 * in front of the three real region processes. Each test has merchants and keys of its own: the
 * isolate's caches outlive a test's storage.
 */
const run = Date.now().toString(36)
let keys = 0
const newKey = () => `sk_test_${run}${String(keys++).padStart(4, '0')}placements`

async function putKey(
  key: string,
  merchantId: string,
  record: { status?: 'active' | 'revoked'; expiresAtMs?: number } = {},
) {
  await env.API_KEYS.put(
    await sha256Hex(key),
    JSON.stringify({ merchantId, mode: 'test', status: record.status ?? 'active', ...record }),
  )
}

/** A merchant whose route by hash does not start at `notHome`, so only its placement sends it there. */
function merchantNotHashedTo(notHome: string, name: string): string {
  for (let i = 0; ; i++) {
    const id = `mer_${name}_${i}`
    if (routeOrder(fleet, id)[0] !== notHome) return id
  }
}

const read = (key: string) =>
  SELF.fetch('https://edge.meridian.test/v1/payments/pay_none', {
    headers: { authorization: `Bearer ${key}` },
  })

const codeOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string } }).error.code

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `probe` until it holds; the milliseconds it took, or undefined past `limitMs`. */
async function msUntil(
  probe: () => Promise<boolean>,
  limitMs: number,
): Promise<number | undefined> {
  const started = Date.now()
  while (Date.now() - started <= limitMs) {
    if (await probe()) return Date.now() - started
    await sleep(50)
  }
  return undefined
}

describe('routing by the placement in KV', () => {
  it('a merchant homed in eu-west by its placement is served there, and the answer says by which epoch', async () => {
    const merchantId = merchantNotHashedTo('eu-west', 'placed')
    const placement: Placement = {
      merchantId,
      home: 'eu-west',
      failover: ['us-east', 'ap-south'],
      residency: 'global',
      epoch: 7,
      processingHome: 'eu-west',
    }
    await env.PLACEMENTS.put(merchantId, JSON.stringify(placement))
    const key = newKey()
    await putKey(key, merchantId)
    const res = await SELF.fetch('https://edge.meridian.test/v1/payments', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'idempotency-key': `placed-${run}`,
      },
      body: JSON.stringify({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa' }),
    })
    expect(res.status).toBe(202)
    expect(res.headers.get('Meridian-Region')).toBe('eu-west')
    expect(res.headers.get('Server-Timing')).toMatch(
      /placement;dur=[\d.]+, placement-by;desc="kv epoch 7", region-eu-west;dur=/,
    )
    expect((await read(key)).headers.get('Meridian-Region')).toBe('eu-west')
  })

  it('a merchant with no placement, or an invalid one, is routed by hash at epoch 1', async () => {
    for (const value of [undefined, '{"merchantId":"mer_x"}', 'not json']) {
      const merchantId = merchantNotHashedTo('none', `fallback_${keys}`)
      if (value !== undefined) await env.PLACEMENTS.put(merchantId, value)
      const key = newKey()
      await putKey(key, merchantId)
      const res = await read(key)
      expect(res.status).toBe(404)
      expect(res.headers.get('Meridian-Region')).toBe(routeOrder(fleet, merchantId)[0])
      expect(res.headers.get('Server-Timing')).toContain('placement-by;desc="default epoch 1"')
    }
  })

  it('a new placement takes effect within the isolate cache TTL', async () => {
    const merchantId = merchantNotHashedTo('ap-south', 'rehomed')
    const at = (home: string, epoch: number): Placement => ({
      merchantId,
      home,
      failover: fleet.regions.map((r) => r.id).filter((r) => r !== home),
      residency: 'global',
      epoch,
      processingHome: 'us-east',
    })
    await env.PLACEMENTS.put(merchantId, JSON.stringify(at('us-east', 1)))
    const key = newKey()
    await putKey(key, merchantId)
    expect((await read(key)).headers.get('Meridian-Region')).toBe('us-east')
    await env.PLACEMENTS.put(merchantId, JSON.stringify(at('ap-south', 2)))
    const tookMs = await msUntil(
      async () => (await read(key)).headers.get('Meridian-Region') === 'ap-south',
      3 * placementCacheTtlMs,
    )
    console.log(
      `new placement seen after ${tookMs} ms (placementCacheTtlMs ${placementCacheTtlMs})`,
    )
    expect(tookMs).toBeDefined()
  })
})

describe('API keys: roll and revoke', () => {
  it('a rolled key works beside the new one until its expiresAtMs, then is refused like a revoked key', async () => {
    const merchantId = 'mer_rolled'
    const oldKey = newKey()
    const rolledKey = newKey()
    const expiredKey = newKey()
    const expiresAtMs = Date.now() + 1500
    await putKey(oldKey, merchantId, { expiresAtMs })
    await putKey(rolledKey, merchantId)
    await putKey(expiredKey, merchantId, { expiresAtMs: Date.now() - 1 })
    expect((await read(oldKey)).status).toBe(404)
    expect((await read(rolledKey)).status).toBe(404)
    const expired = await read(expiredKey)
    expect(expired.status).toBe(401)
    expect(await codeOf(expired)).toBe('api_key_invalid')
    // Past its expiry the old key is refused at once: the expiry is checked on every request,
    // not only when the cached record is read again.
    await sleep(Math.max(0, expiresAtMs - Date.now()) + 10)
    const old = await read(oldKey)
    expect(old.status).toBe(401)
    expect(await codeOf(old)).toBe('api_key_invalid')
    expect(old.headers.get('Meridian-Region')).toBe('edge')
    expect((await read(rolledKey)).status).toBe(404)
  })

  it('a revocation takes effect within the key cache TTL', async () => {
    const key = newKey()
    await putKey(key, 'mer_revoking')
    expect((await read(key)).status).toBe(404)
    await putKey(key, 'mer_revoking', { status: 'revoked' })
    const tookMs = await msUntil(async () => (await read(key)).status === 401, 3 * keyCacheTtlMs)
    console.log(`revocation effective after ${tookMs} ms (keyCacheTtlMs ${keyCacheTtlMs})`)
    expect(tookMs).toBeDefined()
    expect(await codeOf(await read(key))).toBe('api_key_invalid')
  })
})
