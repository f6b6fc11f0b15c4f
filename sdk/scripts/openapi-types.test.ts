import { readFileSync } from 'node:fs'
import { buildOpenApi, eventTypes, isMerchantFacing } from '@meridian/core'
import { describe, expect, it } from 'vitest'
import { paymentEventTypes, refundEventTypes } from '../src/webhooks.ts'
import { generatedPath, generateTypes } from './openapi-types.ts'

describe('the SDK follows the contract', () => {
  it('its checked-in types are what the current OpenAPI document generates', async () => {
    const expected = await generateTypes(buildOpenApi())
    expect(
      readFileSync(generatedPath, 'utf8'),
      'sdk/src/generated/openapi.ts is out of date: run `pnpm sdk:generate` and commit it',
    ).toBe(expected)
  })

  it('its webhook event types are the events merchants receive', () => {
    // Events are not in the OpenAPI document (they are pushed, not served), so checked here.
    expect([...paymentEventTypes, ...refundEventTypes]).toEqual(eventTypes.filter(isMerchantFacing))
  })
})
