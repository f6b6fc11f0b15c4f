import { describe, expect, it } from 'vitest'
import { errorKinds, errors, MeridianError, toHttpError } from './errors.ts'

describe('error union to HTTP', () => {
  it('gives each kind one status and each public type one status', () => {
    const statusesByType = new Map<string, Set<number>>()
    for (const spec of Object.values(errorKinds)) {
      const set = statusesByType.get(spec.type) ?? new Set()
      set.add(spec.status)
      statusesByType.set(spec.type, set)
    }
    // 400, 405, 413 and 414 are all malformed requests (as Stripe types them); every other type
    // maps to exactly one status.
    for (const [type, statuses] of statusesByType) {
      if (type === 'invalid_request_error')
        expect([...statuses].sort()).toEqual([400, 405, 413, 414])
      else expect(statuses.size, type).toBe(1)
    }
  })

  it('renders the documented error object', () => {
    const http = toHttpError(errors.invalidState('pay_x', 'canceled', 'captured'), 'req_1')
    expect(http.status).toBe(409)
    expect(http.body).toEqual({
      error: {
        type: 'conflict_error',
        code: 'payment_invalid_state',
        message: 'Payment pay_x cannot be captured because its status is canceled.',
        status: 'canceled',
        request_id: 'req_1',
      },
    })
  })

  it('adds Retry-After when the error carries one', () => {
    const http = toHttpError(
      new MeridianError({
        kind: 'rate_limited',
        code: 'rate_limited',
        message: 'Too many requests.',
        retryAfterSec: 3,
      }),
      'req_2',
    )
    expect(http.status).toBe(429)
    expect(http.headers).toEqual({ 'Retry-After': '3' })
  })

  it('hides unknown errors behind a 500 without their message or stack', () => {
    const http = toHttpError(new Error('password=hunter2 at db.ts:12'), 'req_3')
    expect(http.status).toBe(500)
    expect(JSON.stringify(http.body)).not.toContain('hunter2')
    expect(http.body.error.type).toBe('api_error')
  })

  it('keeps the standard fields from being overwritten by details', () => {
    const err = new MeridianError({
      kind: 'conflict',
      code: 'payment_invalid_state',
      message: 'm',
      details: { type: 'spoof', request_id: 'spoof' },
    })
    const http = toHttpError(err, 'req_4')
    expect(http.body.error.type).toBe('conflict_error')
    expect(http.body.error.request_id).toBe('req_4')
  })
})
