/**
 * A processor adapter is a stateless translator (Hyperswitch style): it maps our operations to one
 * processor's wire format and its answers back to a small closed set of results. It persists
 * nothing; the worker does. An answer it does not understand is `unknown`, never success.
 */
export interface AuthorizeRequest {
  /** Our payment id: the processor's merchant reference, and how we look the charge up later. */
  readonly reference: string
  readonly amount: number
  readonly currency: string
  readonly cardToken: string
  readonly idempotencyKey: string
}

export interface CaptureRequest {
  readonly reference: string
  readonly processorRef: string
  readonly amount: number
  readonly idempotencyKey: string
}

export interface VoidRequest {
  readonly reference: string
  readonly processorRef: string
  readonly idempotencyKey: string
}

export interface RefundRequest {
  /** Our refund id. */
  readonly reference: string
  readonly processorRef: string
  readonly amount: number
  readonly idempotencyKey: string
}

export type OperationResult =
  | { readonly status: 'approved'; readonly processorRef: string }
  | { readonly status: 'declined'; readonly code: string; readonly message: string }
  /** The processor answered, but with something we cannot read as success or failure. */
  | { readonly status: 'unknown'; readonly reason: string }

export type LookupResult =
  | { readonly status: 'not_found' }
  | { readonly status: 'authorized' | 'captured' | 'voided'; readonly processorRef: string }
  | { readonly status: 'declined'; readonly code: string }
  | { readonly status: 'refunded' | 'refund_failed'; readonly processorRef?: string }
  | { readonly status: 'unknown'; readonly reason: string }

export interface ProcessorAdapter {
  readonly name: string
  authorize(request: AuthorizeRequest): Promise<OperationResult>
  capture(request: CaptureRequest): Promise<OperationResult>
  void(request: VoidRequest): Promise<OperationResult>
  refund(request: RefundRequest): Promise<OperationResult>
  /** What the processor knows about a payment (or, with kind 'refund', a refund) by our reference. */
  lookup(reference: string, kind: 'payment' | 'refund'): Promise<LookupResult>
}

/**
 * A transport failure. `retriable` is read by the one bounded retrier. `maybeApplied` says whether
 * the processor may have acted (the request left and no answer came back): then the payment is
 * pinned to this processor and only ever retried there with the same idempotency key; when it is
 * false (connection refused, 429, 503), another processor may be tried without a double charge.
 */
export class ProcessorError extends Error {
  override readonly name = 'ProcessorError'
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly maybeApplied: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message)
  }
}
