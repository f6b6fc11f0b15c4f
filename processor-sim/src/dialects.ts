import type { Charge } from './engine.ts'
import type { Dialect, SimRequest, SimResponse } from './server.ts'

/**
 * Three processor wire formats over one engine, different on purpose (as real ones are), so the
 * adapters are real translators:
 *   acquirer-rest  Stripe-like REST: charges, capture, void, refunds; 402 card errors
 *   network-a      ISO 8583 flavoured: response codes '00', '05', '51', …; idempotency in the body
 *   network-b      Adyen-like: pspReference and resultCode strings; X-Request-Key header
 */
const key = (req: SimRequest, field?: string): string =>
  String(
    (field ? req.body?.[field] : undefined) ??
      req.headers['idempotency-key'] ??
      req.headers['x-request-key'] ??
      '',
  )

const fp = (req: SimRequest) => `${req.method} ${req.path} ${JSON.stringify(req.body)}`

function restCharge(c: Charge) {
  return {
    id: c.id,
    object: 'charge',
    reference: c.reference,
    amount: c.amount,
    currency: c.currency,
    status: c.state === 'declined' ? 'failed' : c.state === 'voided' ? 'canceled' : 'succeeded',
    captured: c.state === 'captured',
    amount_captured: c.amountCaptured,
    amount_refunded: c.amountRefunded,
    failure_code: c.declineCode ? 'card_declined' : null,
    decline_code: c.declineCode,
  }
}

function missingKey(): SimResponse {
  return {
    status: 400,
    body: { error: { type: 'invalid_request_error', message: 'Idempotency-Key required' } },
  }
}

export const acquirerRest: Dialect = (engine, req) => {
  const k = key(req)
  const charge = /^\/v1\/charges\/([^/]+)\/(capture|void)$/.exec(req.path)
  if (req.method === 'POST' && req.path === '/v1/charges') {
    if (!k) return missingKey()
    const r = engine.idempotent(k, fp(req), () =>
      engine.authorize(
        String(req.body.reference),
        Number(req.body.amount),
        String(req.body.currency),
        String(req.body.source),
      ),
    )
    if (!r.ok) return { status: 400, body: { error: { type: 'idempotency_error', code: r.code } } }
    const c = restCharge(r.value)
    return r.value.state === 'declined'
      ? {
          status: 402,
          body: {
            error: {
              type: 'card_error',
              code: 'card_declined',
              decline_code: r.value.declineCode,
              charge: c,
            },
          },
        }
      : { status: 200, body: c }
  }
  if (req.method === 'POST' && charge) {
    if (!k) return missingKey()
    const [, id = '', op] = charge
    const r = engine.idempotent(k, fp(req), () =>
      op === 'capture' ? engine.capture(id, Number(req.body.amount)) : engine.void(id),
    )
    if (!r.ok) return { status: 400, body: { error: { type: 'idempotency_error', code: r.code } } }
    if (!r.value.ok)
      return { status: 400, body: { error: { type: 'invalid_request_error', code: r.value.code } } }
    return { status: 200, body: restCharge(r.value.value) }
  }
  if (req.method === 'POST' && req.path === '/v1/refunds') {
    if (!k) return missingKey()
    const r = engine.idempotent(k, fp(req), () =>
      engine.refund(String(req.body.reference), String(req.body.charge), Number(req.body.amount)),
    )
    if (!r.ok) return { status: 400, body: { error: { type: 'idempotency_error', code: r.code } } }
    if (!r.value.ok)
      return { status: 400, body: { error: { type: 'invalid_request_error', code: r.value.code } } }
    const f = r.value.value
    return {
      status: 200,
      body: {
        id: f.id,
        object: 'refund',
        reference: f.reference,
        status: f.state,
        failure_reason: f.failureCode,
      },
    }
  }
  if (req.method === 'GET' && req.path === '/v1/charges') {
    const c = engine.lookup(String(req.query.get('reference')))
    return { status: 200, body: { object: 'list', data: c ? [restCharge(c)] : [] } }
  }
  if (req.method === 'GET' && req.path === '/v1/refunds') {
    const f = engine.refunds.get(String(req.query.get('reference')))
    return {
      status: 200,
      body: {
        object: 'list',
        data: f ? [{ id: f.id, reference: f.reference, status: f.state }] : [],
      },
    }
  }
  return undefined
}

const rcFor: Record<string, string> = {
  generic_decline: '05',
  insufficient_funds: '51',
  fraudulent: '59',
  lost_card: '41',
}

const networkState: Record<Charge['state'], string> = {
  authorized: 'AUTHORIZED',
  captured: 'CAPTURED',
  voided: 'REVERSED',
  declined: 'DECLINED',
}

export const networkA: Dialect = (engine, req) => {
  const k = key(req, 'idem')
  if (req.method === 'POST' && ['/auth', '/capture', '/reversal', '/credit'].includes(req.path)) {
    if (!k) return { status: 200, body: { rc: '30', message: 'format error: idem missing' } }
    const b = req.body
    const r = engine.idempotent(k, fp(req), () => {
      if (req.path === '/auth') {
        const c = engine.authorize(
          String(b.txn_ref),
          Number(b.amount_minor),
          String(b.currency),
          String(b.pan_token),
        )
        return c.declineCode ? { rc: rcFor[c.declineCode] ?? '05' } : { rc: '00', auth_id: c.id }
      }
      if (req.path === '/credit') {
        const f = engine.refund(String(b.txn_ref), String(b.auth_id), Number(b.amount_minor))
        return f.ok && f.value.state === 'succeeded'
          ? { rc: '00', credit_id: f.value.id }
          : { rc: '12' }
      }
      const out =
        req.path === '/capture'
          ? engine.capture(String(b.auth_id), Number(b.amount_minor))
          : engine.void(String(b.auth_id))
      return out.ok ? { rc: '00', auth_id: out.value.id } : { rc: '12' }
    })
    return { status: 200, body: r.ok ? r.value : { rc: '94', message: 'duplicate transmission' } }
  }
  const inquiry = /^\/inquiry\/([^/]+)$/.exec(req.path)
  if (req.method === 'GET' && inquiry) {
    const ref = inquiry[1] ?? ''
    const refund = engine.refunds.get(ref)
    if (refund)
      return {
        status: 200,
        body: { rc: '00', state: refund.state === 'succeeded' ? 'CREDITED' : 'FAILED' },
      }
    const c = engine.lookup(ref)
    if (!c) return { status: 200, body: { rc: '25', message: 'unable to locate record' } }
    return {
      status: 200,
      body: {
        rc: c.declineCode ? (rcFor[c.declineCode] ?? '05') : '00',
        state: networkState[c.state],
        auth_id: c.id,
        amount_captured: c.amountCaptured,
      },
    }
  }
  return undefined
}

function adyenResult(c: Charge) {
  return {
    pspReference: c.id,
    merchantReference: c.reference,
    resultCode: c.declineCode ? 'Refused' : 'Authorised',
    refusalReason: c.declineCode,
    status: c.state,
  }
}

export const networkB: Dialect = (engine, req) => {
  const k = key(req)
  const modification = /^\/api\/payments\/([^/]+)\/(captures|cancels|refunds)$/.exec(req.path)
  if (req.method === 'POST' && req.path === '/api/payments') {
    if (!k) return { status: 422, body: { errorCode: '702', message: 'X-Request-Key required' } }
    const b = req.body
    const r = engine.idempotent(k, fp(req), () =>
      engine.authorize(
        String(b.merchantReference),
        Number(b.value?.amount),
        String(b.value?.currency),
        String(b.token),
      ),
    )
    return r.ok
      ? { status: 200, body: adyenResult(r.value) }
      : { status: 422, body: { errorCode: '704', message: 'request already processed' } }
  }
  if (req.method === 'POST' && modification) {
    if (!k) return { status: 422, body: { errorCode: '702', message: 'X-Request-Key required' } }
    const [, psp = '', op] = modification
    const r = engine.idempotent(k, fp(req), () => {
      if (op === 'captures') return engine.capture(psp, Number(req.body.value?.amount))
      if (op === 'cancels') return engine.void(psp)
      const f = engine.refund(
        String(req.body.merchantReference),
        psp,
        Number(req.body.value?.amount),
      )
      return f.ok && f.value.state === 'succeeded'
        ? { ok: true as const, value: f.value }
        : { ok: false as const, code: 'refund_failed' }
    })
    if (!r.ok)
      return { status: 422, body: { errorCode: '704', message: 'request already processed' } }
    return r.value.ok
      ? { status: 201, body: { pspReference: r.value.value.id, status: 'received' } }
      : { status: 422, body: { errorCode: '167', message: r.value.code } }
  }
  if (req.method === 'GET' && req.path === '/api/payments') {
    const ref = String(req.query.get('merchantReference'))
    const refund = engine.refunds.get(ref)
    if (refund)
      return {
        status: 200,
        body: {
          pspReference: refund.id,
          merchantReference: ref,
          status: refund.state === 'succeeded' ? 'refunded' : 'refund_failed',
        },
      }
    const c = engine.lookup(ref)
    return c
      ? { status: 200, body: adyenResult(c) }
      : { status: 404, body: { errorCode: '000', message: 'not found' } }
  }
  return undefined
}

export const dialects = {
  'acquirer-rest': acquirerRest,
  'network-a': networkA,
  'network-b': networkB,
} as const
export type SimName = keyof typeof dialects
export const simNames = Object.keys(dialects) as SimName[]
