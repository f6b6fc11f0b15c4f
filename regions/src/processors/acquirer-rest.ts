import type { LookupResult, OperationResult, ProcessorAdapter } from './adapter.ts'
import { callProcessor, type HttpAnswer } from './http.ts'

/** Stripe-style REST acquirer: charges, capture, void, refunds; card errors are HTTP 402. */
export function acquirerRest(baseUrl: string, timeoutMs?: number): ProcessorAdapter {
  const post = (path: string, body: unknown, key: string) =>
    callProcessor(baseUrl, 'POST', path, {
      body,
      headers: { 'idempotency-key': key },
      ...(timeoutMs ? { timeoutMs } : {}),
    })

  const chargeResult = (answer: HttpAnswer): OperationResult => {
    const b = answer.body
    if (answer.status === 402 && b?.error?.type === 'card_error') {
      return {
        status: 'declined',
        code: String(b.error.decline_code ?? 'card_declined'),
        message: 'card declined',
      }
    }
    if (
      answer.status === 200 &&
      typeof b?.id === 'string' &&
      (b.status === 'succeeded' || b.status === 'canceled')
    ) {
      return { status: 'approved', processorRef: b.id }
    }
    // The key was used before with other parameters: another region sent its own version of
    // the same operation, and the processor acted on that one (or refused it). Not this
    // request's outcome: unknown here, the outcome of the version sent arrives by replication.
    if (answer.status === 400 && b?.error?.type === 'idempotency_error') {
      return {
        status: 'unknown',
        reason: 'idempotency_key_reused: the processor acted on another version of this operation',
      }
    }
    if (answer.status === 400 && b?.error?.type === 'invalid_request_error') {
      return {
        status: 'declined',
        code: String(b.error.code ?? 'invalid_request'),
        message: 'refused by processor',
      }
    }
    return {
      status: 'unknown',
      reason: `HTTP ${answer.status}: ${JSON.stringify(b).slice(0, 200)}`,
    }
  }

  return {
    name: 'acquirer-rest',
    async authorize(r) {
      return chargeResult(
        await post(
          '/v1/charges',
          {
            amount: r.amount,
            currency: r.currency.toLowerCase(),
            source: r.cardToken,
            capture: false,
            reference: r.reference,
          },
          r.idempotencyKey,
        ),
      )
    },
    async capture(r) {
      return chargeResult(
        await post(`/v1/charges/${r.processorRef}/capture`, { amount: r.amount }, r.idempotencyKey),
      )
    },
    async void(r) {
      return chargeResult(await post(`/v1/charges/${r.processorRef}/void`, {}, r.idempotencyKey))
    },
    async refund(r) {
      const answer = await post(
        '/v1/refunds',
        { charge: r.processorRef, amount: r.amount, reference: r.reference },
        r.idempotencyKey,
      )
      const b = answer.body
      if (answer.status === 200 && b?.status === 'succeeded')
        return { status: 'approved', processorRef: String(b.id) }
      if (answer.status === 200 && b?.status === 'failed')
        return { status: 'declined', code: String(b.failure_reason), message: 'refund failed' }
      return chargeResult(answer)
    },
    async lookup(reference, kind): Promise<LookupResult> {
      const path = kind === 'refund' ? '/v1/refunds' : '/v1/charges'
      const answer = await callProcessor(
        baseUrl,
        'GET',
        `${path}?reference=${encodeURIComponent(reference)}`,
      )
      const item = answer.body?.data?.[0]
      if (answer.status !== 200) return { status: 'unknown', reason: `HTTP ${answer.status}` }
      if (!item) return { status: 'not_found' }
      if (kind === 'refund')
        return item.status === 'succeeded'
          ? { status: 'refunded', processorRef: item.id }
          : { status: 'refund_failed' }
      if (item.status === 'failed')
        return { status: 'declined', code: String(item.decline_code ?? 'card_declined') }
      if (item.status === 'canceled') return { status: 'voided', processorRef: item.id }
      if (item.status === 'succeeded')
        return { status: item.captured ? 'captured' : 'authorized', processorRef: item.id }
      return { status: 'unknown', reason: `charge status ${item.status}` }
    },
  }
}
