import type { components, paths } from './generated/openapi.ts'

/**
 * Friendly names for the generated contract types (generated/openapi.ts): what the API answers
 * and what each call takes. Amounts are integers in the currency's minor unit (cents for usd).
 */
type Schemas = components['schemas']

export type Payment = Schemas['Payment']
export type PaymentStatus = Payment['status']
export type Refund = Schemas['Refund']
export type Balance = Schemas['Balance']
export type WebhookEndpoint = Schemas['WebhookEndpoint']
export type WebhookEndpointList = Schemas['WebhookEndpointList']
export type WebhookReplay = Schemas['WebhookReplay']
export type PaymentList = Schemas['PaymentList']
export type ErrorObject = Schemas['Error']

export type PaymentCreateParams = Schemas['CreatePayment']
export type PaymentCaptureParams = Schemas['CapturePayment']
export type PaymentCancelParams = Schemas['CancelPayment']
export type RefundCreateParams = Schemas['CreateRefund']
export type WebhookEndpointCreateParams = Schemas['CreateWebhookEndpoint']
export type WebhookReplayParams = Schemas['ReplayWebhooks']
export type WebhookRollSecretParams = Schemas['RollWebhookSecret']
export type PaymentListParams = NonNullable<paths['/v1/payments']['get']['parameters']['query']>
