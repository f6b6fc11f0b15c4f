import { z } from 'zod'
import { errorKinds } from './errors.ts'
import { paymentStatuses } from './payment-status.ts'

/**
 * The objects the public API returns, as schemas: the OpenAPI document is generated from them
 * and the contract tests parse every real response with them.
 */
export const paymentObjectSchema = z.strictObject({
  id: z.string(),
  object: z.literal('payment'),
  amount: z.number().int().positive(),
  amount_capturable: z.number().int().nonnegative(),
  amount_received: z.number().int().nonnegative(),
  amount_refunded: z.number().int().nonnegative(),
  currency: z.string().regex(/^[a-z]{3}$/),
  status: z.enum(paymentStatuses),
  capture_method: z.enum(['automatic', 'manual']),
  processing: z
    .strictObject({ operation: z.enum(['capture', 'cancel']), amount: z.number().int().optional() })
    .nullable(),
  payment_method: z.strictObject({
    type: z.literal('card'),
    token: z.string(),
    card: z.strictObject({ brand: z.string(), last4: z.string().regex(/^\d{4}$/) }),
  }),
  description: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  decline_code: z.string().nullable(),
  failure_message: z.string().nullable(),
  region: z.string(),
  created: z.number().int(),
  livemode: z.boolean(),
})
export type PaymentObject = z.infer<typeof paymentObjectSchema>

export const refundObjectSchema = z.strictObject({
  id: z.string(),
  object: z.literal('refund'),
  payment: z.string(),
  amount: z.number().int().positive(),
  currency: z.string().regex(/^[a-z]{3}$/),
  status: z.enum(['pending', 'succeeded', 'failed']),
  reason: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  failure_message: z.string().nullable(),
  region: z.string(),
  created: z.number().int(),
})
export type RefundObject = z.infer<typeof refundObjectSchema>

export const paymentListSchema = z.strictObject({
  object: z.literal('list'),
  url: z.string(),
  has_more: z.boolean(),
  data: z.array(paymentObjectSchema),
})

const errorTypes = [...new Set(Object.values(errorKinds).map((k) => k.type))] as [
  string,
  ...string[],
]

export const errorObjectSchema = z.strictObject({
  error: z.looseObject({
    type: z.enum(errorTypes),
    code: z.string(),
    message: z.string(),
    param: z.string().optional(),
    request_id: z.string(),
  }),
})

export const balanceObjectSchema = z.strictObject({
  object: z.literal('balance'),
  pending: z.array(z.strictObject({ amount: z.number().int(), currency: z.string() })),
  available: z.array(z.strictObject({ amount: z.number().int(), currency: z.string() })),
})

export const webhookEndpointObjectSchema = z.strictObject({
  id: z.string(),
  object: z.literal('webhook_endpoint'),
  url: z.string(),
  enabled_events: z.array(z.string()),
  status: z.enum(['enabled', 'disabled']),
  created: z.number().int(),
  /** Present only in the answer that created the endpoint or rolled its secret. */
  secret: z.string().optional(),
  /** After a roll: when the secrets it replaced stop signing deliveries (unix seconds). */
  previous_secrets_expire: z.number().int().optional(),
})

export const webhookEndpointListSchema = z.strictObject({
  object: z.literal('list'),
  url: z.string(),
  has_more: z.boolean(),
  data: z.array(webhookEndpointObjectSchema),
})

export const webhookReplaySchema = z.strictObject({
  object: z.literal('webhook_replay'),
  endpoint: z.string(),
  requeued: z.number().int(),
})
