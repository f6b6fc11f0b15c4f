import { connect } from 'node:net'
import { edgeSignatureHeader, signEdgeRequest } from '@meridian/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

/**
 * The inputs that answered 500 before (found by the fuzz suite, test/src/fuzz): each is now a
 * 400 (or 404) that names what is wrong and writes nothing, and odd but storable text is kept
 * exactly as sent.
 */
let region: TestRegion
beforeAll(async () => {
  region = await startTestRegion('hostile')
})
afterAll(async () => {
  await region?.stop()
})

const card = { amount: 1200, currency: 'usd', payment_method: 'pm_card_visa' }
let n = 0
const key = () => `hostile-${n++}`

/** Bytes as sent, signed as the edge signs them (a string body would be re-encoded by fetch). */
async function postBytes(path: string, body: Uint8Array) {
  const response = await fetch(`${region.running.url}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Idempotency-Key': key(),
      [edgeSignatureHeader]: await signEdgeRequest(region.secret, {
        method: 'POST',
        path,
        merchantId: 'mer_acme',
        epoch: 1,
        region: 'us-east',
        body,
      }),
    },
    body,
  })
  return {
    status: response.status,
    json: (await response.json()) as { error?: Record<string, unknown> },
  }
}

async function refusedWithoutWriting(
  send: () => Promise<{ status: number; json: { error?: Record<string, unknown> } }>,
  expected: { status: number; code: string; param?: string },
): Promise<Record<string, unknown> | undefined> {
  const before = await tableCounts(region.db)
  const res = await send()
  expect(res.status).toBe(expected.status)
  expect(res.json.error).toMatchObject({
    code: expected.code,
    ...(expected.param ? { param: expected.param } : {}),
  })
  expect(await tableCounts(region.db)).toEqual(before)
  return res.json.error
}

describe('text PostgreSQL cannot store, or would store changed', () => {
  const client = () => region.client()
  it.each([
    ['NUL in description', { ...card, description: 'a\u0000b' }, 'description'],
    ['NUL in a metadata value', { ...card, metadata: { order: '1\u0000' } }, 'metadata.order'],
    ['a lone surrogate in description', { ...card, description: 'x\ud800' }, 'description'],
    ['a lone surrogate in a metadata key', { ...card, metadata: { '\udc00': 'v' } }, 'metadata'],
  ])('%s: 400 parameter_invalid naming it', async (_, body, param) => {
    const error = await refusedWithoutWriting(() => client().post('/v1/payments', body, key()), {
      status: 400,
      code: 'parameter_invalid',
      param,
    })
    expect(error?.message).toMatch(/NUL|lone surrogate|parameter name/)
  })

  it('NUL in a webhook endpoint description: 400, no endpoint', async () => {
    await refusedWithoutWriting(
      () =>
        client().post(
          '/v1/webhook_endpoints',
          { url: 'https://hooks.example.com/x', description: '\u0000' },
          key(),
        ),
      { status: 400, code: 'parameter_invalid', param: 'description' },
    )
  })

  it('NUL in a query parameter: 400 naming it', async () => {
    const res = await client().get('/v1/payments?starting_after=a%00b')
    expect(res.status).toBe(400)
    expect(res.json.error).toMatchObject({ code: 'parameter_invalid', param: 'starting_after' })
  })

  it('NUL in a path id: 404, the id names nothing', async () => {
    const res = await client().get('/v1/payments/pay_%00')
    expect(res.status).toBe(404)
    await refusedWithoutWriting(() => client().post('/v1/payments/pay_%00/capture', {}, key()), {
      status: 404,
      code: 'resource_missing',
    })
  })

  it('bytes that are not UTF-8, or a surrogate encoded as bytes: 400, never U+FFFD', async () => {
    const enc = new TextEncoder()
    for (const body of [
      new Uint8Array([...enc.encode('{"description":"'), 0xff, 0x22, 0x7d]),
      new Uint8Array([...enc.encode('{"description":"'), 0xed, 0xa0, 0x80, 0x22, 0x7d]),
      new Uint8Array([...enc.encode('{"description":"'), 0xc0, 0x80, 0x22, 0x7d]),
    ]) {
      await refusedWithoutWriting(() => postBytes('/v1/payments', body), {
        status: 400,
        code: 'body_invalid_json',
      })
    }
  })

  it('a body nested thousands deep: 400, not a stack overflow', async () => {
    const deep = `{"url":"https://hooks.example.com/x","x":${'['.repeat(5000)}${']'.repeat(5000)}}`
    await refusedWithoutWriting(
      () => postBytes('/v1/webhook_endpoints', new TextEncoder().encode(deep)),
      { status: 400, code: 'parameter_invalid', param: 'x' },
    )
  })
})

describe('odd but storable text is stored exactly as sent', () => {
  it('astral characters, combining marks, RTL overrides, controls, a BOM', async () => {
    const description = '💳 e\u0301 \u202eevil \ufeff\u0001\t\u{10ffff}'
    const metadata = { '👩‍👩‍👧': '\u00a0', 'k\u0301': "'; drop table payments; --" }
    const created = await region
      .client()
      .post('/v1/payments', { ...card, description, metadata }, key())
    expect(created.status).toBe(202)
    const got = await region.client().get(`/v1/payments/${created.json.id}`)
    expect(got.json.description).toBe(description)
    expect(got.json.metadata).toEqual(metadata)
  })
})

describe('malformed HTTP gets the error object too', () => {
  it('an unknown method: 400 request_malformed as JSON', async () => {
    const url = new URL(region.running.url ?? '')
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write('TRACE2 /v1/payments HTTP/1.1\r\nHost: x\r\n\r\n')
      })
      let text = ''
      socket.on('data', (d) => {
        text += d.toString()
      })
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(answer).toMatch(/^HTTP\/1.1 400/)
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe(
      'request_malformed',
    )
  })
})
