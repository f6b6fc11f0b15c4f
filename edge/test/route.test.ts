import {
  admitWrite,
  fleet,
  movedPlacement,
  newPlacement,
  type Placement,
  type PlacementFence,
  parseEdgeSignature,
  toHttpError,
  verifyEdgeSignature,
  writeRefusal,
} from '@meridian/core'
import { describe, expect, it } from 'vitest'
import { forwardTo, type RequestForward } from '../src/app.ts'
import { type Fetcher, type ForwardOutcome, forward } from '../src/forward.ts'
import { type RouteDeps, routeByPlacement } from '../src/route.ts'

/**
 * The re-route loop over regions that answer as core's fencing rules say (`admitWrite`,
 * `writeRefusal`, `toHttpError`): each stand-in region reads the epoch from the request's real
 * signature, so what is asserted is what a region would see. Time is a counter the loop's sleeps
 * advance, so each run is exact.
 */
const secret = 'test-edge-secret'
const origins: Record<string, string> = {
  'us-east': 'http://us-east.test',
  'eu-west': 'http://eu-west.test',
  'ap-south': 'http://ap-south.test',
}
const jurisdictions: Record<string, string> = { 'us-east': 'us', 'eu-west': 'eu', 'ap-south': 'in' }
const regionOf = (url: string) =>
  String(Object.keys(origins).find((r) => url.startsWith(String(origins[r]))))

interface Sent {
  readonly region: string
  readonly epoch: number
}

/** Regions as fetch sees them: what each knows of the merchant, and every write each received. */
function regions(known: Record<string, PlacementFence | undefined>) {
  const sent: Sent[] = []
  const down = new Set<string>()
  const fetcher: Fetcher = async (url, init) => {
    const region = regionOf(url)
    if (down.has(region)) throw new TypeError('connection refused')
    const signature = parseEdgeSignature(
      new Headers(init.headers).get('meridian-edge-signature') ?? '',
    )
    if (!signature) throw new Error('unsigned request')
    sent.push({ region, epoch: signature.epoch })
    const admitted = admitWrite(known[region], signature.epoch, String(jurisdictions[region]))
    if (!admitted.ok) {
      const http = toHttpError(writeRefusal(admitted.reason, signature.merchantId), 'req_test')
      return Response.json(http.body, { status: http.status, headers: http.headers })
    }
    return Response.json({ id: 'pay_test', region }, { status: 202 })
  }
  return { sent, down, fetcher, known }
}

const request: RequestForward = {
  method: 'POST',
  path: '/v1/payments',
  headers: new Headers({ 'idempotency-key': 'move-1', 'content-type': 'application/json' }),
  body: new TextEncoder().encode('{"amount":1000}'),
  merchantId: 'mer_moving',
  mode: 'test',
  requestId: 'req_test',
  secret,
  timeoutMs: 1000,
}

const before = newPlacement(fleet, {
  merchantId: 'mer_moving',
  home: 'us-east',
  residency: 'global',
})
const after = movedPlacement(fleet, before, 'eu-west')

/**
 * A move from us-east (epoch 1) to eu-west (epoch 2) caught mid-way: us-east is fenced at 1, the
 * others not yet (the fence goes region by region), and KV publishes epoch 2 at `publishAtMs`.
 */
function moveScenario(
  options: {
    publishAtMs?: number
    waitMsMax?: number
    canRetry?: boolean
    outcome?: (o: ForwardOutcome) => ForwardOutcome
  } = {},
) {
  const world = regions({
    'us-east': { epoch: 1, fencedEpoch: 1, residency: 'global' },
    'eu-west': undefined,
    'ap-south': undefined,
  })
  let nowMs = 0
  const reads: { fresh: boolean; epoch: number }[] = []
  const refusals: string[] = []
  const deps: RouteDeps = {
    canRetry: options.canRetry ?? true,
    placementWaitMsMax: options.waitMsMax ?? 5000,
    retryDelayMs: 200,
    nowMs: () => nowMs,
    sleep: async (ms) => {
      nowMs += ms
    },
    placement: async (fresh) => {
      const placement = nowMs >= (options.publishAtMs ?? 600) ? after : before
      reads.push({ fresh, epoch: placement.epoch })
      return placement
    },
    order: (p: Placement) => [p.home, ...p.failover],
    attempt: async (region, placement) => {
      const outcome = await forward(
        forwardTo(request, String(origins[region]), region, placement),
        world.fetcher,
      )
      return options.outcome ? options.outcome(outcome) : outcome
    },
    onRefused: (region, refusal, placement) =>
      refusals.push(`${region} ${refusal} ${placement.epoch}`),
  }
  return { world, deps, reads, refusals, now: () => nowMs }
}

describe('routing by placement while a merchant moves', () => {
  it('a merchant_moving answer re-reads the placement and goes to the new home, never to a failover region under the old epoch', async () => {
    const s = moveScenario({ publishAtMs: 600 })
    const routed = await routeByPlacement(s.deps)
    expect(routed.result).toBe('answered')
    if (routed.result !== 'answered') return
    expect(routed.region).toBe('eu-west')
    expect(routed.response.status).toBe(202)
    // Epoch 1 only ever at the old home (refused there); eu-west only ever under epoch 2.
    expect(s.world.sent).toEqual([
      { region: 'us-east', epoch: 1 },
      { region: 'us-east', epoch: 1 },
      { region: 'us-east', epoch: 1 },
      { region: 'eu-west', epoch: 2 },
    ])
    expect(s.world.sent.filter((x) => x.region !== 'us-east' && x.epoch === 1)).toEqual([])
    // The first read may come from the cache; every re-read skips it.
    expect(s.reads).toEqual([
      { fresh: false, epoch: 1 },
      { fresh: true, epoch: 1 },
      { fresh: true, epoch: 1 },
      { fresh: true, epoch: 2 },
    ])
    expect(s.refusals).toEqual(Array(3).fill('us-east merchant_moving 1'))
  })

  it('the same move with merchant_moving taken for a region failure lets eu-west accept the write under epoch 1 (what the test above forbids)', async () => {
    const asFailure = (o: ForwardOutcome): ForwardOutcome =>
      o.result === 'refused'
        ? { result: 'failed', kind: 'server_error', detail: o.refusal, response: o.response }
        : o
    const s = moveScenario({ outcome: asFailure })
    const routed = await routeByPlacement(s.deps)
    expect(routed.result === 'answered' && routed.region).toBe('eu-west')
    expect(s.world.sent).toContainEqual({ region: 'eu-west', epoch: 1 })
  })

  it('placement_stale (a region knows a newer epoch than the cached one) re-reads and routes by the new one', async () => {
    const s = moveScenario()
    // The move is over everywhere; this isolate still holds epoch 1 for one more read.
    s.world.known['us-east'] = { epoch: 2, fencedEpoch: 1, residency: 'global' }
    s.world.known['eu-west'] = { epoch: 2, fencedEpoch: 1, residency: 'global' }
    let reads = 0
    const routed = await routeByPlacement({
      ...s.deps,
      placement: async () => (reads++ === 0 ? before : after),
    })
    expect(routed.result === 'answered' && routed.region).toBe('eu-west')
    expect(s.world.sent).toEqual([
      { region: 'us-east', epoch: 1 },
      { region: 'eu-west', epoch: 2 },
    ])
  })

  it('after placementWaitMsMax the region refusal is the answer, with its Retry-After', async () => {
    const s = moveScenario({ publishAtMs: Number.POSITIVE_INFINITY, waitMsMax: 1000 })
    const routed = await routeByPlacement(s.deps)
    expect(routed.result).toBe('answered')
    if (routed.result !== 'answered') return
    expect(routed.response.status).toBe(503)
    expect(routed.response.headers.get('retry-after')).toBe('1')
    expect(((await routed.response.json()) as { error: { code: string } }).error.code).toBe(
      'merchant_moving',
    )
    // 0, 200, …, 1000 ms: six attempts, all at the old home, none past the bound.
    expect(s.world.sent).toEqual(Array(6).fill({ region: 'us-east', epoch: 1 }))
    expect(s.now()).toBeLessThanOrEqual(1000)
  })

  it('a request that is not safe to send twice gets the refusal at once', async () => {
    const s = moveScenario({ canRetry: false })
    const routed = await routeByPlacement(s.deps)
    expect(routed.result === 'answered' && routed.response.status).toBe(503)
    expect(s.world.sent).toEqual([{ region: 'us-east', epoch: 1 }])
    expect(s.reads).toHaveLength(1)
  })

  it('an outage still fails over under the same epoch (unplanned failover is unchanged)', async () => {
    const s = moveScenario()
    s.world.known['us-east'] = undefined
    s.world.down.add('us-east')
    const routed = await routeByPlacement(s.deps)
    expect(routed.result === 'answered' && routed.region).toBe('eu-west')
    expect(s.world.sent).toEqual([{ region: 'eu-west', epoch: 1 }])
    expect(s.refusals).toEqual([])
  })
})

describe('the forward of one attempt', () => {
  it("signs the placement's epoch and the chosen region, as the region verifies them", async () => {
    const placement: Placement = { ...after, epoch: 41 }
    let header = ''
    const outcome = await forward(
      forwardTo(request, String(origins['eu-west']), 'eu-west', placement),
      async (_url, init) => {
        header = new Headers(init.headers).get('meridian-edge-signature') ?? ''
        return Response.json({ id: 'pay_x' }, { status: 202 })
      },
    )
    expect(outcome.result).toBe('answered')
    expect(parseEdgeSignature(header)).toMatchObject({
      merchantId: 'mer_moving',
      epoch: 41,
      region: 'eu-west',
      mode: 'test',
    })
    const verified = await verifyEdgeSignature(secret, header, {
      method: 'POST',
      path: '/v1/payments',
      body: request.body,
    })
    expect(verified).toMatchObject({ ok: true, epoch: 41, region: 'eu-west' })
  })

  it.each([
    [503, 'merchant_moving', 'refused'],
    [409, 'placement_stale', 'refused'],
    [409, 'payment_invalid_state', 'answered'],
    [503, 'placement_stale', 'answered'],
    [409, 'merchant_moving', 'answered'],
  ])('classifies a %i %s as %s', async (status, code, result) => {
    const outcome = await forward(
      forwardTo(request, 'http://r.test', 'us-east', before),
      async () => Response.json({ error: { type: 'x', code, message: 'm' } }, { status }),
    )
    expect(outcome.result).toBe(result)
    // Whatever it is, the body still reaches the merchant intact.
    if (outcome.result === 'failed') throw new Error('not an outage')
    expect(((await outcome.response.json()) as { error: { code: string } }).error.code).toBe(code)
  })

  it('a merchant_moving the region marked retryable is still a refusal, not an outage', async () => {
    const outcome = await forward(
      forwardTo(request, 'http://r.test', 'us-east', before),
      async () =>
        Response.json(toHttpError(writeRefusal('moving', 'mer_moving'), 'req_x').body, {
          status: 503,
          headers: { 'meridian-retryable': 'true', 'retry-after': '1' },
        }),
    )
    expect(outcome).toMatchObject({ result: 'refused', refusal: 'merchant_moving' })
  })
})
