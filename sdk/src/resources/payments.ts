import { CardError } from '../errors.ts'
import { type RequestOptions, request, type Transport } from '../http.ts'
import { Listing } from '../list.ts'
import type { WithResponse } from '../response.ts'
import type {
  Payment,
  PaymentCancelParams,
  PaymentCaptureParams,
  PaymentCreateParams,
  PaymentList,
  PaymentListParams,
} from '../types.ts'

const at = (id: string, action = '') => `/v1/payments/${encodeURIComponent(id)}${action}`

/** `/v1/payments`: create (authorize), read, list, capture and cancel payments. */
export class Payments {
  constructor(private readonly transport: Transport) {}

  /**
   * Create and authorize a payment: it answers `pending`, and the processor's verdict arrives as
   * a status change and a webhook. A payment declined at once by a fraud rule throws `CardError`
   * (the declined payment is on the error).
   */
  async create(
    params: PaymentCreateParams,
    options?: RequestOptions,
  ): Promise<WithResponse<Payment>> {
    const payment = await request<Payment>(
      this.transport,
      { method: 'POST', path: '/v1/payments', body: params },
      options,
    )
    if (payment.status === 'declined')
      throw new CardError({
        message: `The payment was declined (${payment.decline_code ?? 'no code'}).`,
        status: payment.lastResponse.status,
        code: payment.decline_code ?? undefined,
        requestId: payment.lastResponse.requestId,
        idempotencyKey: payment.lastResponse.idempotencyKey,
        payment,
      })
    return payment
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return request<Payment>(this.transport, { method: 'GET', path: at(id) }, options)
  }

  /** Every payment, newest first, fetched page by page as it is iterated. */
  list(params: PaymentListParams = {}, options?: RequestOptions): Listing<Payment> {
    return new Listing<Payment>(
      (startingAfter) =>
        request<PaymentList>(
          this.transport,
          {
            method: 'GET',
            path: '/v1/payments',
            query: { limit: params.limit, starting_after: startingAfter },
          },
          options,
        ),
      params.starting_after,
    )
  }

  /** Capture an authorization, in part with `amount` (≤ what is capturable). */
  capture(
    id: string,
    params: PaymentCaptureParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<Payment>> {
    return request<Payment>(
      this.transport,
      { method: 'POST', path: at(id, '/capture'), body: params },
      options,
    )
  }

  /** Void an authorization: the hold is released. */
  cancel(
    id: string,
    params: PaymentCancelParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<Payment>> {
    return request<Payment>(
      this.transport,
      { method: 'POST', path: at(id, '/cancel'), body: params },
      options,
    )
  }
}
