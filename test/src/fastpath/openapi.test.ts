import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestRegion, type TestRegion } from '../harness/region.ts'

let region: TestRegion
// biome-ignore lint/suspicious/noExplicitAny: the document is arbitrary JSON checked by the validator.
let doc: any
let ajv: Ajv2020
beforeAll(async () => {
  region = await startTestRegion('openapi')
  doc = await (await fetch(`${region.client().baseUrl}/openapi.json`)).json()
  ajv = new Ajv2020({ strict: false, allErrors: true })
  ajv.addSchema({ $id: 'meridian', components: doc.components })
})
afterAll(async () => {
  await region?.stop()
})

const validate = (name: string, value: unknown) => {
  const check = ajv.getSchema(`meridian#/components/schemas/${name}`)
  if (!check) throw new Error(`no schema ${name}`)
  return check(value) === true
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    // The validator is not a rubber stamp: a parameter without `in` fails it.
    const broken = structuredClone(doc)
    delete broken.paths['/v1/payments'].post.parameters[0].in
    expect((await new Validator().validate(broken)).valid).toBe(false)
  })

  it('documents every public route', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((m) => `${m.toUpperCase()} ${path}`),
    )
    expect(ops.sort()).toEqual(
      [
        'GET /v1/payments',
        'POST /v1/payments',
        'GET /v1/payments/{id}',
        'POST /v1/payments/{id}/capture',
        'POST /v1/payments/{id}/cancel',
        'POST /v1/payments/{id}/refunds',
        'GET /v1/balance',
        'POST /v1/webhook_endpoints',
        'GET /v1/webhook_endpoints',
        'POST /v1/webhook_endpoints/{id}/replay',
        'POST /v1/webhook_endpoints/{id}/roll_secret',
      ].sort(),
    )
  })

  it('accepts exactly the request bodies the API accepts', async () => {
    const base = { amount: 100, currency: 'usd', payment_method: 'pm_card_visa' }
    const samples = [
      base,
      {
        ...base,
        currency: 'JPY',
        capture_method: 'manual',
        metadata: { a: 'b' },
        description: 'd',
      },
      { ...base, amount: 0 },
      { ...base, amount: 1.5 },
      { ...base, currency: 'xyz' },
      { ...base, extra: true },
      { amount: 100, currency: 'usd' },
      { ...base, payment_method: 'card_4242' },
      { ...base, metadata: { k: 1 } },
    ]
    let i = 0
    for (const body of samples) {
      const res = await region.client().post('/v1/payments', body, `openapi-${i++}`)
      expect(validate('CreatePayment', body), JSON.stringify(body)).toBe(res.status === 202)
    }
  })

  it('describes the objects the API really returns', async () => {
    const created = await region
      .client()
      .post(
        '/v1/payments',
        { amount: 100, currency: 'usd', payment_method: 'pm_card_visa' },
        'openapi-obj',
      )
    expect(validate('Payment', created.json)).toBe(true)
    const list = await region.client().get('/v1/payments?limit=2')
    expect(validate('PaymentList', list.json)).toBe(true)
    const error = await region.client().post('/v1/payments', {}, 'openapi-err')
    expect(validate('Error', error.json)).toBe(true)
    expect(validate('Payment', { ...created.json, status: 'teleported' })).toBe(false)
  })
})
