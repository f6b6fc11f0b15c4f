import {
  errors,
  isId,
  MeridianError,
  merchantIdSchema,
  type Placement,
  placementSchema,
  regionIdSchema,
} from '@meridian/core'
import { Hono } from 'hono'
import { z } from 'zod'
import type { PlacementService } from '../payments/placements.ts'
import type { ApiEnv } from './context.ts'
import { edgeSignature, jsonBody, queryOf } from './middleware.ts'

/**
 * The control plane's endpoints in a region (docs/control-plane.md), under /internal/v1. They are
 * verified by the edge's HMAC like merchant requests: the signature covers the path, and the edge
 * forwards only /v1/* for merchants, so a valid signature on /internal/* comes from the control
 * plane. The signature's merchant must be the merchant the path names (`controlMerchant` where
 * none is named) and its epoch the placement's epoch (0 where no placement is sent).
 */
export const controlMerchant = 'mer_control'

function signedFor(
  c: { get(key: 'merchantId'): string; get(key: 'epoch'): number },
  merchantId: string,
  epoch: number,
) {
  if (c.get('merchantId') !== merchantId || c.get('epoch') !== epoch)
    throw new MeridianError({
      kind: 'authentication',
      code: 'signature_invalid',
      message: `This request must be signed for merchant ${merchantId} at epoch ${epoch}.`,
    })
}

function merchantOf(param: string | undefined): string {
  const parsed = merchantIdSchema.safeParse(param)
  if (!parsed.success) throw errors.notFound('merchant', param ?? '')
  return parsed.data
}

function placementOf(value: unknown, merchantId: string): Placement {
  const parsed = placementSchema.safeParse(value)
  if (!parsed.success)
    throw new MeridianError({
      kind: 'invalid_request',
      code: 'placement_invalid',
      message: `The body is not a placement: ${z.prettifyError(parsed.error)}`,
      param: 'placement',
    })
  if (parsed.data.merchantId !== merchantId)
    throw new MeridianError({
      kind: 'invalid_request',
      code: 'placement_invalid',
      message: `The placement is ${parsed.data.merchantId}'s; the path names ${merchantId}.`,
      param: 'merchantId',
    })
  return parsed.data
}

export function internalApp(
  deps: { readonly region: string; readonly edgeSecret: () => string },
  placements: PlacementService,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>()
  app.use('*', edgeSignature(deps.edgeSecret, deps.region))

  app.put('/placements/:merchant', async (c) => {
    const merchantId = merchantOf(c.req.param('merchant'))
    const placement = placementOf(jsonBody(c), merchantId)
    signedFor(c, merchantId, placement.epoch)
    return c.json(await placements.put(placement))
  })
  app.get('/placements/:merchant', async (c) => {
    const merchantId = merchantOf(c.req.param('merchant'))
    signedFor(c, merchantId, 0)
    const found = await placements.get(merchantId)
    if (!found) throw errors.notFound('placement', merchantId)
    return c.json(found)
  })
  app.post('/placements/:merchant/fence', async (c) => {
    const merchantId = merchantOf(c.req.param('merchant'))
    const placement = placementOf(jsonBody(c).placement, merchantId)
    signedFor(c, merchantId, placement.epoch)
    return c.json(await placements.fence(placement))
  })
  app.get('/replication/applied', async (c) => {
    signedFor(c, controlMerchant, 0)
    const query = queryOf(c)
    const origin = regionIdSchema.safeParse(query.origin)
    if (!origin.success)
      throw errors.invalidRequest('parameter_invalid', 'origin must be a region id.', 'origin')
    const event = query.event ?? ''
    if (!isId('event', event))
      throw errors.invalidRequest('parameter_invalid', 'event must be an event id.', 'event')
    return c.json({ applied: await placements.applied(origin.data, event) })
  })
  app.get('/status', async (c) => {
    signedFor(c, controlMerchant, 0)
    return c.json(await placements.status())
  })
  return app
}
