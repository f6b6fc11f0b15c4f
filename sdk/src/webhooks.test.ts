import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SignatureVerificationError } from './errors.ts'
import { constructEvent } from './webhooks.ts'

/**
 * Signed here with node:crypto, an implementation apart from the SDK's WebCrypto, as the regions
 * sign (`t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`); test/src/sdk verifies real deliveries.
 */
const now = 1_800_000_000
const body = JSON.stringify({
  id: 'evt_1',
  object: 'event',
  type: 'payment.captured',
  created: now,
  region: 'us-east',
  data: { object: { id: 'pay_1', object: 'payment', status: 'captured' } },
})
const sign = (secret: string, text: string, t = now) =>
  createHmac('sha256', secret).update(`${t}.${text}`).digest('hex')
const header = (t: number, ...signatures: string[]) =>
  [`t=${t}`, ...signatures.map((s) => `v1=${s}`)].join(',')

async function refusal(promise: Promise<unknown>): Promise<string> {
  const thrown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(thrown).toBeInstanceOf(SignatureVerificationError)
  return (thrown as SignatureVerificationError).reason
}

describe('constructEvent', () => {
  it('returns the typed event of a delivery signed with the secret', async () => {
    const event = await constructEvent(
      body,
      header(now, sign('whsec_a', body)),
      'whsec_a',
      300,
      now,
    )
    expect(event.type).toBe('payment.captured')
    expect(event.data.object.id).toBe('pay_1')
    // Bytes as received work as well as text.
    const bytes = new TextEncoder().encode(body)
    await expect(
      constructEvent(bytes, header(now, sign('whsec_a', body)), 'whsec_a', 300, now),
    ).resolves.toMatchObject({ id: 'evt_1' })
  })

  it('during a secret roll, accepts a delivery with either secret among several v1', async () => {
    const signed = header(now, sign('whsec_new', body), sign('whsec_old', body))
    await expect(constructEvent(body, signed, 'whsec_old', 300, now)).resolves.toBeDefined()
    await expect(constructEvent(body, signed, 'whsec_new', 300, now)).resolves.toBeDefined()
    // A receiver holding both while it deploys the new one.
    const onlyNew = header(now, sign('whsec_new', body))
    await expect(
      constructEvent(body, onlyNew, ['whsec_old', 'whsec_new'], 300, now),
    ).resolves.toBeDefined()
  })

  it('refuses a tampered body, another secret, a forged signature', async () => {
    const signed = header(now, sign('whsec_a', body))
    const tampered = body.replace('captured', 'refunded')
    expect(await refusal(constructEvent(tampered, signed, 'whsec_a', 300, now))).toBe('mismatch')
    expect(await refusal(constructEvent(body, signed, 'whsec_b', 300, now))).toBe('mismatch')
    const forged = header(now, '0'.repeat(64))
    expect(await refusal(constructEvent(body, forged, 'whsec_a', 300, now))).toBe('mismatch')
    // The timestamp is signed too: moving it breaks the signature.
    const moved = header(now + 1, sign('whsec_a', body))
    expect(await refusal(constructEvent(body, moved, 'whsec_a', 300, now))).toBe('mismatch')
  })

  it('refuses a delivery signed outside the tolerance, either way', async () => {
    const old = header(now - 301, sign('whsec_a', body, now - 301))
    expect(await refusal(constructEvent(body, old, 'whsec_a', 300, now))).toBe('stale')
    const ahead = header(now + 301, sign('whsec_a', body, now + 301))
    expect(await refusal(constructEvent(body, ahead, 'whsec_a', 300, now))).toBe('stale')
    const edge = header(now - 300, sign('whsec_a', body, now - 300))
    await expect(constructEvent(body, edge, 'whsec_a', 300, now)).resolves.toBeDefined()
  })

  it('refuses a missing or malformed header', async () => {
    expect(await refusal(constructEvent(body, undefined, 'whsec_a', 300, now))).toBe('missing')
    expect(await refusal(constructEvent(body, '', 'whsec_a', 300, now))).toBe('missing')
    const v1 = sign('whsec_a', body)
    for (const bad of [`v1=${v1}`, `t=${now}`, `t=soon,v1=${v1}`, `t=${now},v1=${v1.slice(2)}`])
      expect(await refusal(constructEvent(body, bad, 'whsec_a', 300, now)), bad).toBe('malformed')
  })

  it('skips signature schemes it does not know', async () => {
    const signed = `t=${now},v0=deadbeef,v1=${sign('whsec_a', body)}`
    await expect(constructEvent(body, signed, 'whsec_a', 300, now)).resolves.toBeDefined()
  })
})
