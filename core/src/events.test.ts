import { describe, expect, it } from 'vitest'
import { decodeEvent, envelope } from './events.ts'
import { newId } from './ids.ts'

describe('event envelope', () => {
  const event = envelope({
    id: newId('event'),
    type: 'payment.created',
    merchantId: 'mer_acme',
    originRegion: 'us-east',
    hlc: { wallMs: 1_700_000_000_000, logical: 3, node: 'us-east' },
    payload: { payment_id: newId('payment') },
  })

  it('round-trips through bytes', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(event))
    expect(decodeEvent(bytes)).toEqual({ ok: true, event })
  })

  it('turns malformed input into an outcome, not a crash', () => {
    expect(decodeEvent('{').ok).toBe(false)
    expect(decodeEvent(JSON.stringify({ ...event, id: 'pay_nope' })).ok).toBe(false)
    expect(decodeEvent(JSON.stringify({ ...event, schema_version: 2 })).ok).toBe(false)
    expect(decodeEvent(JSON.stringify({ ...event, extra: 1 })).ok).toBe(false)
    expect(decodeEvent(JSON.stringify({ ...event, hlc: 'yesterday' })).ok).toBe(false)
  })
})
