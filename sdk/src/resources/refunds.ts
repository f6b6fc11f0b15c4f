import { type RequestOptions, request, type Transport } from '../http.ts'
import type { WithResponse } from '../response.ts'
import type { Refund, RefundCreateParams } from '../types.ts'

/** `/v1/payments/{id}/refunds`: refund a captured payment, in whole or in part. */
export class Refunds {
  constructor(private readonly transport: Transport) {}

  /** Without `amount`, whatever is left to refund; it answers `pending` until the processor acts. */
  create(
    paymentId: string,
    params: RefundCreateParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<Refund>> {
    return request<Refund>(
      this.transport,
      {
        method: 'POST',
        path: `/v1/payments/${encodeURIComponent(paymentId)}/refunds`,
        body: params,
      },
      options,
    )
  }
}
