import { type RequestOptions, request, type Transport } from '../http.ts'
import type { WithResponse } from '../response.ts'
import type { Balance } from '../types.ts'

/** `/v1/balance`: the merchant's ledger balances, pending and available, per currency. */
export class BalanceResource {
  constructor(private readonly transport: Transport) {}

  retrieve(options?: RequestOptions): Promise<WithResponse<Balance>> {
    return request<Balance>(this.transport, { method: 'GET', path: '/v1/balance' }, options)
  }
}
