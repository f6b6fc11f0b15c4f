import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { AttemptInfo } from './http.ts'
import {
  APIError,
  AuthenticationError,
  CardError,
  ConnectionError,
  IdempotencyError,
  InvalidRequestError,
  Meridian,
  type MeridianOptions,
  PermissionError,
  RateLimitError,
} from './index.ts'

/**
 * The client's retry and error rules over an injected fetch: the network is a third party's
 * boundary, so these fake it; the done-when tests (test/src/sdk) run the same client against
 * real regions behind the edge.
 */
interface Sent {
  readonly method: string
  readonly url: string
  readonly headers: Headers
  readonly body: string | undefined
}

type Reply = Response | Error | 'hang'

function fakeFetch(replies: Reply[]) {
  const sent: Sent[] = []
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    sent.push({
      method: init?.method ?? 'GET',
      url: String(input),
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : undefined,
    })
    const reply = replies.shift() ?? new Error('no reply left')
    if (reply === 'hang')
      return new Promise((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )
    if (reply instanceof Error) throw reply
    return reply
  }
  return { fetch, sent }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'request-id': 'req_test', ...headers },
  })
const error = (status: number, type: string, code: string, extra: Record<string, unknown> = {}) =>
  json(status, { error: { type, code, message: `${code}.`, request_id: 'req_err', ...extra } })

const payment = (status = 'pending') => ({
  id: 'pay_1',
  object: 'payment',
  amount: 1000,
  amount_capturable: 0,
  amount_received: 0,
  amount_refunded: 0,
  currency: 'usd',
  status,
  capture_method: 'automatic',
  processing: null,
  payment_method: { type: 'card', token: 'pm_card_visa', card: { brand: 'visa', last4: '4242' } },
  description: null,
  metadata: {},
  decline_code: status === 'declined' ? 'fraud_velocity' : null,
  failure_message: null,
  region: 'us-east',
  created: 1,
  livemode: false,
})

function client(replies: Reply[], options: Partial<MeridianOptions> = {}) {
  const fake = fakeFetch(replies)
  const attempts: AttemptInfo[] = []
  const meridian = new Meridian('sk_test_secretSecretSecret01', {
    baseUrl: 'https://edge.test/',
    fetch: fake.fetch,
    retryDelayMsInitial: 1,
    retryDelayMsMax: 2,
    maxRetries: 3,
    onAttempt: (a) => attempts.push(a),
    ...options,
  })
  return { meridian, sent: fake.sent, attempts }
}

const create = { amount: 1000, currency: 'usd', payment_method: 'pm_card_visa' } as const

describe('idempotency keys', () => {
  it('every POST carries one, and every retry of the call reuses it', async () => {
    const { meridian, sent } = client([
      new TypeError('fetch failed'),
      error(503, 'unavailable_error', 'region_unavailable'),
      json(202, payment(), { 'idempotent-replayed': 'true' }),
    ])
    const created = await meridian.payments.create(create)
    expect(sent).toHaveLength(3)
    const keys = sent.map((s) => s.headers.get('idempotency-key'))
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Set(keys)).toEqual(new Set([keys[0]]))
    // Identical bytes each time: the server fingerprints the request.
    expect(new Set(sent.map((s) => s.body))).toEqual(new Set([JSON.stringify(create)]))
    expect(created.lastResponse).toMatchObject({
      idempotencyKey: keys[0],
      replayed: true,
      attempts: 3,
      requestId: 'req_test',
    })
  })

  it('two calls never share a key; a key given is the key sent', async () => {
    const { meridian, sent } = client([
      json(202, payment()),
      json(202, payment()),
      json(202, payment()),
    ])
    await meridian.payments.create(create)
    await meridian.payments.create(create)
    await meridian.payments.create(create, { idempotencyKey: 'order-42' })
    const keys = sent.map((s) => s.headers.get('idempotency-key'))
    expect(keys[0]).not.toBe(keys[1])
    expect(keys[2]).toBe('order-42')
  })

  it('GETs carry none and are retried alike', async () => {
    const { meridian, sent } = client([error(502, 'api_error', 'internal'), json(200, payment())])
    await meridian.payments.retrieve('pay_1')
    expect(sent.map((s) => [s.method, s.url, s.headers.get('idempotency-key')])).toEqual([
      ['GET', 'https://edge.test/v1/payments/pay_1', null],
      ['GET', 'https://edge.test/v1/payments/pay_1', null],
    ])
  })
})

describe('retries', () => {
  it('a timed-out attempt is abandoned and retried', async () => {
    const { meridian, attempts } = client(['hang', json(202, payment())], { timeoutMs: 20 })
    await meridian.payments.create(create)
    expect(attempts.map((a) => [a.status, a.error?.name, a.retryInMs !== undefined])).toEqual([
      [0, 'ConnectionError', true],
      [202, undefined, false],
    ])
    expect(attempts[0]?.error).toMatchObject({ timedOut: true })
  })

  it('409 idempotency_key_in_use is retried until the first request is done', async () => {
    const inUse = () => error(409, 'conflict_error', 'idempotency_key_in_use')
    const { meridian, sent } = client([inUse(), inUse(), json(202, payment())])
    await meridian.payments.create(create)
    expect(sent).toHaveLength(3)
  })

  it('a 409 about the payment is the answer, sent once', async () => {
    const { meridian, sent } = client([
      error(409, 'conflict_error', 'payment_invalid_state', { status: 'canceled' }),
    ])
    const thrown = await meridian.payments.capture('pay_1').catch((e: unknown) => e)
    expect(thrown).toBeInstanceOf(InvalidRequestError)
    expect(thrown).toMatchObject({ status: 409, details: { status: 'canceled' } })
    expect(sent).toHaveLength(1)
  })

  it('429: waits Retry-After, then gives the error with retryAfterSec when retries run out', async () => {
    const limited = () => error(429, 'rate_limit_error', 'rate_limited')
    const { meridian, attempts } = client(
      [limited(), limited(), limited()].map((r) => {
        r.headers.set('retry-after', '0')
        return r
      }),
      { maxRetries: 2 },
    )
    const thrown = await meridian.balance.retrieve().catch((e: unknown) => e)
    expect(thrown).toBeInstanceOf(RateLimitError)
    expect(thrown).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSec: 0 })
    expect(attempts.map((a) => a.retryInMs === undefined)).toEqual([false, false, true])
  })

  it('a Retry-After beyond retryAfterMsMax is not waited for', async () => {
    const limited = error(429, 'rate_limit_error', 'rate_limited')
    limited.headers.set('retry-after', '120')
    const { meridian, sent } = client([limited])
    const thrown = await meridian.balance.retrieve().catch((e: unknown) => e)
    expect(thrown).toMatchObject({ name: 'RateLimitError', retryAfterSec: 120 })
    expect(sent).toHaveLength(1)
  })

  it('maxRetries per call: 0 sends once', async () => {
    const { meridian, sent } = client([new TypeError('fetch failed')])
    const thrown = await meridian.payments.create(create, { maxRetries: 0 }).catch((e) => e)
    expect(thrown).toBeInstanceOf(ConnectionError)
    expect(thrown.idempotencyKey).toBe(sent[0]?.headers.get('idempotency-key'))
    expect(sent).toHaveLength(1)
  })

  it("the caller's abort stops the call and its retries", async () => {
    const controller = new AbortController()
    const { meridian, sent } = client(['hang', json(202, payment())])
    const call = meridian.payments.create(create, { signal: controller.signal })
    controller.abort(new Error('shutting down'))
    await expect(call).rejects.toThrow('shutting down')
    expect(sent).toHaveLength(1)
  })
})

describe('typed errors', () => {
  const cases: [Response, string, number | undefined][] = [
    [
      error(400, 'invalid_request_error', 'amount_invalid', { param: 'amount' }),
      'InvalidRequestError',
      400,
    ],
    [error(404, 'not_found_error', 'resource_missing'), 'InvalidRequestError', 404],
    [error(401, 'authentication_error', 'api_key_invalid'), 'AuthenticationError', 401],
    [error(403, 'permission_error', 'merchant_residency'), 'PermissionError', 403],
    [error(422, 'idempotency_error', 'idempotency_key_reused'), 'IdempotencyError', 422],
    [new Response('<html>bad gateway</html>', { status: 505 }), 'APIError', 505],
  ]
  it.each(cases)('%#: %s', async (reply, name, status) => {
    const { meridian, sent } = client([reply])
    const thrown = await meridian.payments.create(create, { idempotencyKey: 'k1' }).catch((e) => e)
    expect(thrown.name).toBe(name)
    expect(thrown).toMatchObject({ status, idempotencyKey: 'k1' })
    expect(sent).toHaveLength(1)
  })

  it('carry the error object: code, param, request id, type', async () => {
    const { meridian } = client([
      error(400, 'invalid_request_error', 'amount_invalid', { param: 'amount' }),
    ])
    const thrown = await meridian.payments.create(create).catch((e) => e)
    expect(thrown).toMatchObject({
      code: 'amount_invalid',
      param: 'amount',
      requestId: 'req_err',
      type: 'invalid_request_error',
      message: 'amount_invalid.',
    })
    for (const type of [AuthenticationError, PermissionError, IdempotencyError, APIError])
      expect(thrown).not.toBeInstanceOf(type)
  })

  it('a 5xx after the retries is an APIError', async () => {
    const failing = () => error(500, 'api_error', 'internal')
    const { meridian, sent } = client([failing(), failing()], { maxRetries: 1 })
    await expect(meridian.balance.retrieve()).rejects.toBeInstanceOf(APIError)
    expect(sent).toHaveLength(2)
  })

  it('a payment declined at once is a CardError holding the payment', async () => {
    const { meridian } = client([json(202, payment('declined'))])
    const thrown = await meridian.payments.create(create).catch((e) => e)
    expect(thrown).toBeInstanceOf(CardError)
    expect(thrown).toMatchObject({ code: 'fraud_velocity', declineCode: 'fraud_velocity' })
    expect(thrown.payment.id).toBe('pay_1')
    // Accepted all the same: the answer's facts ride on the payment, as on any other result.
    expect(thrown.payment.lastResponse).toMatchObject({ status: 202, region: undefined })
  })
})

describe('the API key', () => {
  it('is sent as a bearer token and never printed or serialized', async () => {
    const { meridian, sent } = client([
      json(200, { object: 'balance', pending: [], available: [] }),
    ])
    await meridian.balance.retrieve()
    expect(sent[0]?.headers.get('authorization')).toBe('Bearer sk_test_secretSecretSecret01')
    expect(inspect(meridian, { depth: 10, showHidden: true })).not.toContain('secretSecret')
    expect(JSON.stringify(meridian)).not.toContain('secretSecret')
  })
})

describe('lists', () => {
  it('iterate every page, each from the last id of the one before', async () => {
    const page = (ids: string[], hasMore: boolean) =>
      json(200, {
        object: 'list',
        url: '/v1/payments',
        has_more: hasMore,
        data: ids.map((id) => ({ ...payment(), id })),
      })
    const { meridian, sent } = client([
      page(['p5', 'p4'], true),
      page(['p3', 'p2'], true),
      page(['p1'], false),
    ])
    const ids: string[] = []
    for await (const p of meridian.payments.list({ limit: 2 })) ids.push(p.id)
    expect(ids).toEqual(['p5', 'p4', 'p3', 'p2', 'p1'])
    expect(sent.map((s) => new URL(s.url).search)).toEqual([
      '?limit=2',
      '?limit=2&starting_after=p4',
      '?limit=2&starting_after=p2',
    ])
  })
})
