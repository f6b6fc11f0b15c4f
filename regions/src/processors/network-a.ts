import type { LookupResult, OperationResult, ProcessorAdapter } from './adapter.ts'
import { callProcessor } from './http.ts'

/** ISO 8583 response codes we act on; anything else is unknown, never approval. */
const declines: Record<string, string> = {
  '05': 'do_not_honor',
  '51': 'insufficient_funds',
  '59': 'suspected_fraud',
  '41': 'lost_card',
  '12': 'invalid_transaction',
}

/** A card-network-style acquirer: JSON with ISO 8583 response codes, idempotency in the body. */
export function networkA(baseUrl: string, timeoutMs?: number): ProcessorAdapter {
  const post = (path: string, body: Record<string, unknown>) =>
    callProcessor(baseUrl, 'POST', path, { body, ...(timeoutMs ? { timeoutMs } : {}) })

  const result = (
    body: { rc?: string; auth_id?: string; credit_id?: string },
    ref?: string,
  ): OperationResult => {
    if (body?.rc === '00')
      return { status: 'approved', processorRef: String(body.auth_id ?? body.credit_id ?? ref) }
    const code = body?.rc ? declines[body.rc] : undefined
    if (code) return { status: 'declined', code, message: `response code ${body.rc}` }
    return { status: 'unknown', reason: `response code ${body?.rc ?? 'missing'}` }
  }

  return {
    name: 'network-a',
    async authorize(r) {
      const a = await post('/auth', {
        txn_ref: r.reference,
        amount_minor: r.amount,
        currency: r.currency,
        pan_token: r.cardToken,
        idem: r.idempotencyKey,
      })
      return result(a.body)
    },
    async capture(r) {
      const a = await post('/capture', {
        txn_ref: r.reference,
        auth_id: r.processorRef,
        amount_minor: r.amount,
        idem: r.idempotencyKey,
      })
      return result(a.body, r.processorRef)
    },
    async void(r) {
      const a = await post('/reversal', {
        txn_ref: r.reference,
        auth_id: r.processorRef,
        idem: r.idempotencyKey,
      })
      return result(a.body, r.processorRef)
    },
    async refund(r) {
      const a = await post('/credit', {
        txn_ref: r.reference,
        auth_id: r.processorRef,
        amount_minor: r.amount,
        idem: r.idempotencyKey,
      })
      return result(a.body)
    },
    async lookup(reference, kind): Promise<LookupResult> {
      const a = await callProcessor(baseUrl, 'GET', `/inquiry/${encodeURIComponent(reference)}`)
      const b = a.body
      if (b?.rc === '25') return { status: 'not_found' }
      if (kind === 'refund') {
        return b?.state === 'CREDITED'
          ? { status: 'refunded' }
          : b?.state === 'FAILED'
            ? { status: 'refund_failed' }
            : { status: 'unknown', reason: String(b?.state) }
      }
      const declined = b?.rc ? declines[b.rc] : undefined
      if (declined) return { status: 'declined', code: declined }
      const states: Record<string, 'authorized' | 'captured' | 'voided'> = {
        AUTHORIZED: 'authorized',
        CAPTURED: 'captured',
        REVERSED: 'voided',
      }
      const state = states[String(b?.state)]
      return state
        ? { status: state, processorRef: String(b.auth_id) }
        : { status: 'unknown', reason: `state ${b?.state}` }
    },
  }
}
