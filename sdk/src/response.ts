/** Facts of the answer a call returned, kept on the object as `lastResponse` (not enumerable). */
export interface ResponseInfo {
  readonly status: number
  readonly requestId: string | undefined
  readonly region: string | undefined
  readonly idempotencyKey: string | undefined
  /** The server answered from its idempotency record (an earlier attempt had been carried out). */
  readonly replayed: boolean
  /** Attempts the call took, the answered one included. */
  readonly attempts: number
}

export type WithResponse<T> = T & { readonly lastResponse: ResponseInfo }
