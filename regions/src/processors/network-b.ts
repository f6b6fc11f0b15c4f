import type { LookupResult, OperationResult, ProcessorAdapter } from './adapter.ts'
import { callProcessor } from './http.ts'

/** An Adyen-style acquirer: pspReference and resultCode strings, X-Request-Key idempotency. */
export function networkB(baseUrl: string, timeoutMs?: number): ProcessorAdapter {
  const post = (path: string, body: unknown, key: string) =>
    callProcessor(baseUrl, 'POST', path, {
      body,
      headers: { 'x-request-key': key },
      ...(timeoutMs ? { timeoutMs } : {}),
    })

  const modification = (
    answer: {
      status: number
      body: { pspReference?: string; status?: string; message?: string; errorCode?: string }
    },
    ref: string,
  ): OperationResult => {
    if (answer.status === 201 && answer.body?.status === 'received')
      return { status: 'approved', processorRef: String(answer.body.pspReference ?? ref) }
    // 704: the key was used before with other parameters (another region's version of the
    // operation); the processor's outcome for it is that version's, not this request's.
    if (answer.status === 422 && answer.body?.errorCode === '704')
      return { status: 'unknown', reason: 'request already processed with other parameters' }
    if (answer.status === 422)
      return {
        status: 'declined',
        code: 'modification_refused',
        message: String(answer.body?.message),
      }
    return { status: 'unknown', reason: `HTTP ${answer.status}` }
  }

  return {
    name: 'network-b',
    async authorize(r) {
      const a = await post(
        '/api/payments',
        {
          merchantReference: r.reference,
          value: { amount: r.amount, currency: r.currency },
          token: r.cardToken,
        },
        r.idempotencyKey,
      )
      const b = a.body
      if (a.status === 200 && b?.resultCode === 'Authorised')
        return { status: 'approved', processorRef: String(b.pspReference) }
      if (a.status === 200 && b?.resultCode === 'Refused')
        return {
          status: 'declined',
          code: String(b.refusalReason ?? 'refused'),
          message: 'refused',
        }
      // 'Received', 'Pending', 'Error' and anything new: we do not know yet.
      return { status: 'unknown', reason: `resultCode ${b?.resultCode ?? a.status}` }
    },
    async capture(r) {
      return modification(
        await post(
          `/api/payments/${r.processorRef}/captures`,
          { value: { amount: r.amount } },
          r.idempotencyKey,
        ),
        r.processorRef,
      )
    },
    async void(r) {
      return modification(
        await post(`/api/payments/${r.processorRef}/cancels`, {}, r.idempotencyKey),
        r.processorRef,
      )
    },
    async refund(r) {
      return modification(
        await post(
          `/api/payments/${r.processorRef}/refunds`,
          { merchantReference: r.reference, value: { amount: r.amount } },
          r.idempotencyKey,
        ),
        r.processorRef,
      )
    },
    async lookup(reference, kind): Promise<LookupResult> {
      const a = await callProcessor(
        baseUrl,
        'GET',
        `/api/payments?merchantReference=${encodeURIComponent(reference)}`,
      )
      if (a.status === 404) return { status: 'not_found' }
      const b = a.body
      if (kind === 'refund')
        return b?.status === 'refunded' ? { status: 'refunded' } : { status: 'refund_failed' }
      if (b?.resultCode === 'Refused')
        return { status: 'declined', code: String(b.refusalReason ?? 'refused') }
      const states: Record<string, 'authorized' | 'captured' | 'voided'> = {
        authorized: 'authorized',
        captured: 'captured',
        voided: 'voided',
      }
      const state = states[String(b?.status)]
      return state
        ? { status: state, processorRef: String(b.pspReference) }
        : { status: 'unknown', reason: `status ${b?.status}` }
    },
  }
}
