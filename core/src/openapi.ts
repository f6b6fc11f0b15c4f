import { z } from 'zod'
import {
  balanceObjectSchema,
  errorObjectSchema,
  paymentListSchema,
  paymentObjectSchema,
  refundObjectSchema,
  webhookEndpointListSchema,
  webhookEndpointObjectSchema,
  webhookReplaySchema,
} from './api-objects.ts'
import { errorKinds } from './errors.ts'
import {
  cancelPaymentSchema,
  capturePaymentSchema,
  createPaymentSchema,
  createRefundSchema,
  listPaymentsQuerySchema,
} from './payments.ts'
import { createEndpointSchema, replaySchema, rollSecretSchema } from './webhooks.ts'

type JsonSchema = Record<string, unknown>

function schema(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, {
    io,
    target: 'draft-2020-12',
  }) as JsonSchema
  return rest
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (name: string) => ({ 'application/json': { schema: ref(name) } })

const errorResponses = Object.fromEntries(
  [...new Set(Object.values(errorKinds).map((k) => k.status))].map((status) => [
    String(status),
    {
      description: Object.entries(errorKinds)
        .filter(([, k]) => k.status === status)
        .map(([kind]) => kind)
        .join(', '),
      content: json('Error'),
      ...(status === 429 || status === 503
        ? { headers: { 'Retry-After': { schema: { type: 'integer' } } } }
        : {}),
    },
  ]),
)

const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description:
    'Unique per operation; a retry with the same key and request replays the stored response.',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
}
const paymentId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } }

const statusText: Record<string, string> = { '200': 'OK', '201': 'Created', '202': 'Accepted' }

function post(
  summary: string,
  body: string,
  ok: string,
  path: boolean,
  status = '202',
): JsonSchema {
  return {
    summary,
    parameters: path ? [paymentId, idempotencyKey] : [idempotencyKey],
    requestBody: { required: false, content: json(body) },
    responses: {
      [status]: { description: statusText[status] ?? status, content: json(ok) },
      ...errorResponses,
    },
  }
}

function get(summary: string, ok: string, parameters: unknown[] = []): JsonSchema {
  return {
    summary,
    parameters,
    responses: { '200': { description: 'OK', content: json(ok) }, ...errorResponses },
  }
}

function _get(summary: string, ok: string, parameters: unknown[] = []): JsonSchema {
  return {
    summary,
    parameters,
    responses: { '200': { description: 'OK', content: json(ok) }, ...errorResponses },
  }
}

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApi(): JsonSchema {
  const query = schema(listPaymentsQuerySchema, 'input') as {
    properties: Record<string, JsonSchema>
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Meridian payments API', version: 'v1' },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/payments': {
        post: post('Create and authorize a payment', 'CreatePayment', 'Payment', false),
        get: {
          summary: 'List payments, newest first',
          parameters: Object.entries(query.properties).map(([name, s]) => ({
            name,
            in: 'query',
            schema: s,
          })),
          responses: {
            '200': { description: 'A page', content: json('PaymentList') },
            ...errorResponses,
          },
        },
      },
      '/v1/payments/{id}': {
        get: {
          summary: 'Retrieve a payment',
          parameters: [paymentId],
          responses: {
            '200': { description: 'The payment', content: json('Payment') },
            ...errorResponses,
          },
        },
      },
      '/v1/payments/{id}/capture': {
        post: post('Capture an authorization', 'CapturePayment', 'Payment', true),
      },
      '/v1/payments/{id}/cancel': {
        post: post('Void an authorization', 'CancelPayment', 'Payment', true),
      },
      '/v1/payments/{id}/refunds': {
        post: post('Refund a captured payment', 'CreateRefund', 'Refund', true),
      },
      '/v1/balance': { get: get("The merchant's ledger balances per currency", 'Balance') },
      '/v1/webhook_endpoints': {
        post: post(
          'Register a webhook endpoint (the answer carries its signing secret, once)',
          'CreateWebhookEndpoint',
          'WebhookEndpoint',
          false,
          '201',
        ),
        get: get('List webhook endpoints', 'WebhookEndpointList'),
      },
      '/v1/webhook_endpoints/{id}/replay': {
        post: post(
          'Requeue dead-lettered deliveries of an endpoint',
          'ReplayWebhooks',
          'WebhookReplay',
          true,
        ),
      },
      '/v1/webhook_endpoints/{id}/roll_secret': {
        post: post(
          'Roll the signing secret: the answer carries the new one, once; the old one keeps signing beside it for expires_in seconds',
          'RollWebhookSecret',
          'WebhookEndpoint',
          true,
          '200',
        ),
      },
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
      schemas: {
        CreatePayment: schema(createPaymentSchema, 'input'),
        CapturePayment: schema(capturePaymentSchema, 'input'),
        CancelPayment: schema(cancelPaymentSchema, 'input'),
        CreateRefund: schema(createRefundSchema, 'input'),
        Payment: schema(paymentObjectSchema, 'output'),
        Refund: schema(refundObjectSchema, 'output'),
        PaymentList: schema(paymentListSchema, 'output'),
        Error: schema(errorObjectSchema, 'output'),
        Balance: schema(balanceObjectSchema, 'output'),
        CreateWebhookEndpoint: schema(createEndpointSchema, 'input'),
        ReplayWebhooks: schema(replaySchema, 'input'),
        RollWebhookSecret: schema(rollSecretSchema, 'input'),
        WebhookEndpoint: schema(webhookEndpointObjectSchema, 'output'),
        WebhookEndpointList: schema(webhookEndpointListSchema, 'output'),
        WebhookReplay: schema(webhookReplaySchema, 'output'),
      },
    },
  }
}
