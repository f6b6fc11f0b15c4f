export { Meridian, type MeridianOptions, timeoutMsDefault } from './client.ts'
export {
  APIError,
  AuthenticationError,
  CardError,
  ConnectionError,
  IdempotencyError,
  InvalidRequestError,
  MeridianError,
  PermissionError,
  RateLimitError,
  SignatureVerificationError,
} from './errors.ts'
export type { components, paths } from './generated/openapi.ts'
export type { AttemptInfo, RequestOptions } from './http.ts'
export { Listing, type Page } from './list.ts'
export type { ResponseInfo, WithResponse } from './response.ts'
export { type RetryPolicy, retryDefaults } from './retry.ts'
export type * from './types.ts'
export {
  constructEvent,
  type PaymentEvent,
  paymentEventTypes,
  type RefundEvent,
  refundEventTypes,
  signatureHeader,
  toleranceSecDefault,
  type WebhookEvent,
  webhooks,
} from './webhooks.ts'
