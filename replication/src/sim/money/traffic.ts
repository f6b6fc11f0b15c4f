import { deriveId, routeOf, samplePlacement } from '@meridian/core'
import type { Rng } from '@meridian/platform'
import type { ApiAnswer, ApiRequest, Protocol } from './api.ts'
import type { ModelRegion } from './region.ts'
import type { Host, Scheduler } from './scheduler.ts'
import type { Telemetry } from './telemetry.ts'

/** The edge's settings (edge/src/env.ts defaults) and health board constants (health.ts). */
const regionTimeoutMs = 1500
const failbackHealthyMs = 30_000
const failbackRampMs = 60_000
const failuresBeforeDown = 3
const probeIntervalMs = 1000
const networkMsMax = 40
/** A merchant's HTTP client: its own timeout (some shorter than the edge's failover), attempts. */
const clientTimeoutMsMin = 500
const clientTimeoutMsMax = 3000
const clientAttemptsMax = 5

type Outcome =
  | { readonly kind: 'answer'; readonly answer: ApiAnswer }
  | { readonly kind: 'timeout' | 'refused' }

/** A request as a merchant sends it: the edge adds nothing but routing (and, before, an id). */
export type ClientRequest = DistributiveOmit<ApiRequest, 'mintedId'>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export interface Acknowledged {
  readonly kind: ApiRequest['kind']
  readonly id: string
  readonly merchantId: string
  readonly key: string
  /** The region that answered, and whether it replayed a stored answer. */
  readonly region: string
  readonly replayed: boolean
}

interface RegionHealth {
  up: boolean
  consecutiveFailures: number
  recoveredAtMs: number | undefined
  lastProbeMs: number
}

/**
 * edge/src/health.ts's HealthBoard, rule for rule (the edge package is not importable here): a
 * region is down on a refused connection or after three timeouts or 5xx in a row, probed at most
 * once a second while down, and a recovered home region gets traffic back only after 30 s
 * healthy, then gradually over a minute.
 */
class EdgeHealth {
  private readonly regions = new Map<string, RegionHealth>()

  constructor(private readonly nowMs: () => number) {}

  private get(region: string): RegionHealth {
    let h = this.regions.get(region)
    if (!h) {
      h = { up: true, consecutiveFailures: 0, recoveredAtMs: undefined, lastProbeMs: 0 }
      this.regions.set(region, h)
    }
    return h
  }

  isUp(region: string): boolean {
    return this.get(region).up
  }

  failure(region: string, kind: Outcome['kind']): void {
    const h = this.get(region)
    h.consecutiveFailures += 1
    if (h.up && (kind === 'refused' || h.consecutiveFailures >= failuresBeforeDown)) {
      h.up = false
      h.recoveredAtMs = undefined
    }
  }

  success(region: string): void {
    const h = this.get(region)
    h.consecutiveFailures = 0
    if (h.up) return
    h.up = true
    h.recoveredAtMs = this.nowMs()
  }

  dueProbes(regions: readonly string[]): string[] {
    const now = this.nowMs()
    return regions.filter((r) => {
      const h = this.get(r)
      if (h.up || now - h.lastProbeMs < probeIntervalMs) return false
      h.lastProbeMs = now
      return true
    })
  }

  private failbackShare(region: string): number {
    const h = this.get(region)
    if (!h.up) return 0
    if (h.recoveredAtMs === undefined) return 1
    const since = this.nowMs() - h.recoveredAtMs - failbackHealthyMs
    if (since <= 0) return 0
    return Math.min(1, since / failbackRampMs)
  }

  order(route: readonly string[], draw: number): string[] {
    const [home, ...rest] = route
    if (home === undefined) return []
    const homeFirst = this.isUp(home) && draw < this.failbackShare(home)
    const ordered = homeFirst ? [home, ...rest] : [...rest, home]
    return [...ordered.filter((r) => this.isUp(r)), ...ordered.filter((r) => !this.isUp(r))]
  }
}

/**
 * The edge (edge/src/app.ts): each merchant's requests go to its home region, then down its
 * failover order (the sample merchants' placements) as the health board orders them; a region that
 * times out, refuses or answers 5xx is left for the next. Under the protocol before 2e85293, the
 * edge minted a payment id per request and sent it with every attempt.
 */
export class Edge {
  private readonly health: EdgeHealth
  private minted = 0

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: Rng,
    private readonly outside: Host,
    private readonly regions: ReadonlyMap<string, ModelRegion>,
    private readonly protocol: Protocol,
    private readonly seed: number,
    private readonly t: Telemetry,
  ) {
    this.health = new EdgeHealth(() => scheduler.nowMs)
  }

  /**
   * `gone()` says the merchant stopped waiting: a Worker whose client disconnected is canceled,
   * so no further region is tried (the attempt already sent may still be served).
   */
  async forward(req: ClientRequest, gone: () => boolean): Promise<ApiAnswer | undefined> {
    const route = routeOf(samplePlacement(req.merchantId))
    const order = this.health.order(route, this.rng.next())
    for (const region of this.health.dueProbes(route)) void this.probe(region)
    const request: ApiRequest =
      req.kind === 'create' && this.protocol === 'random-ids'
        ? {
            ...req,
            mintedId: await deriveId('payment', 'edge', String(this.seed), String(this.minted++)),
          }
        : req
    let last: ApiAnswer | undefined
    for (const [i, region] of order.entries()) {
      if (gone()) return undefined
      if (i > 0) this.t.count('edgeFailovers')
      const outcome = await this.attempt(region, request)
      if (outcome.kind === 'answer' && outcome.answer.status < 500) this.health.success(region)
      else this.health.failure(region, outcome.kind)
      this.t.trace(
        () =>
          `edge: ${request.kind} ${request.merchantId}/${request.key} at ${region}: ${outcome.kind === 'answer' ? `${outcome.answer.status} ${outcome.answer.resourceId ?? outcome.answer.code ?? ''}${outcome.answer.replayed ? ' (replay)' : ''}` : outcome.kind}`,
      )
      if (outcome.kind === 'answer' && outcome.answer.status < 500) return outcome.answer
      if (outcome.kind === 'answer') last = outcome.answer
      else this.t.count(outcome.kind === 'timeout' ? 'edgeTimeouts' : 'edgeRefused')
    }
    return last
  }

  /** GET /readyz: answered by a live API, not by a hung or dead one. */
  private async probe(region: string): Promise<void> {
    const r = this.regions.get(region)
    const outcome = await new Promise<Outcome['kind']>((resolve) => {
      let settled = false
      const settle = (kind: Outcome['kind']) => {
        if (settled) return
        settled = true
        resolve(kind)
      }
      this.outside.after(regionTimeoutMs, () => settle('timeout'))
      const there = 1 + this.rng.int(networkMsMax)
      this.scheduler.after(there, () => {
        if (!r || r.apiHost.state === 'down') this.outside.after(there, () => settle('refused'))
        else r.apiHost.after(there, () => settle('answer'))
      })
    })
    if (outcome === 'answer') this.health.success(region)
    else this.health.failure(region, outcome)
  }

  private attempt(region: string, req: ApiRequest): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false
      const settle = (o: Outcome) => {
        if (settled) return
        settled = true
        resolve(o)
      }
      this.outside.after(regionTimeoutMs, () => settle({ kind: 'timeout' }))
      const there = 1 + this.rng.int(networkMsMax)
      this.scheduler.after(there, () => {
        const r = this.regions.get(region)
        if (!r || r.apiHost.state === 'down') {
          this.outside.after(there, () => settle({ kind: 'refused' }))
          return
        }
        // A hung API holds the request and serves it when it resumes (SIGCONT).
        r.apiHost.after(0, () => {
          void r.api.handle(req).then((answer) => {
            if (answer.status < 300 && !answer.replayed && r.hangAfterCommit) {
              r.hangAfterCommit()
              r.hangAfterCommit = undefined
            }
            r.apiHost.after(1 + this.rng.int(5), () =>
              this.outside.after(1 + this.rng.int(networkMsMax), () =>
                settle({ kind: 'answer', answer }),
              ),
            )
          })
        })
      })
    })
  }
}

/**
 * Merchants: each payment a story (create; for manual capture, a capture, partial capture or
 * cancel, sometimes a capture and a cancel at once; then refunds, full or partial, sometimes two
 * at once), every request retried with its key after a timeout or an error, sometimes with a
 * changed body under the same key, each retry a new edge request.
 */
export class Merchants {
  readonly acknowledged: Acknowledged[] = []
  private keys = 0

  constructor(
    private readonly rng: Rng,
    private readonly outside: Host,
    private readonly edge: Edge,
    private readonly t: Telemetry,
  ) {}

  async story(merchantId: string, startMs: number): Promise<void> {
    await this.outside.sleep(startMs)
    const manual = this.rng.chance(0.5)
    const amount = this.rng.pick([1000, 2500, 4000])
    const card = this.rng.chance(0.08) ? 'pm_card_visa_chargeDeclined' : 'pm_card_visa'
    const created = await this.send({
      kind: 'create',
      merchantId,
      key: this.newKey(),
      body: {
        amount,
        currency: 'usd',
        payment_method: card,
        capture_method: manual ? 'manual' : 'automatic',
      },
    })
    const paymentId = created?.resourceId
    if (!paymentId) return
    if (manual) {
      await this.outside.sleep(200 + this.rng.int(3000))
      const roll = this.rng.next()
      const capture = (amount?: number) =>
        this.send({
          kind: 'capture',
          merchantId,
          key: this.newKey(),
          paymentId,
          body: amount === undefined ? {} : { amount },
        })
      const cancel = () =>
        this.send({ kind: 'cancel', merchantId, key: this.newKey(), paymentId, body: {} })
      if (roll < 0.35) await capture()
      else if (roll < 0.55) await capture(Math.floor(amount / 2))
      else if (roll < 0.7) await cancel()
      else if (roll < 0.85) {
        this.t.count('splitOperations')
        await Promise.all([capture(), cancel()])
      }
      // Otherwise nobody captures: the authorization expires.
    }
    if (!this.rng.chance(0.6)) return
    await this.outside.sleep(200 + this.rng.int(4000))
    const refund = (amount?: number) =>
      this.send({
        kind: 'refunds',
        merchantId,
        key: this.newKey(),
        paymentId,
        body: amount === undefined ? {} : { amount },
      })
    const part = () => (this.rng.chance(0.5) ? undefined : Math.floor(amount / 3))
    if (this.rng.chance(0.4)) {
      this.t.count('splitRefunds')
      await Promise.all([refund(part()), refund(part())])
    } else await refund(part())
  }

  private newKey(): string {
    return `key_${this.keys++}`
  }

  /** One request until answered: retried with its key, sometimes with a changed body. */
  private async send(req: ClientRequest): Promise<ApiAnswer | undefined> {
    let current = req
    let refusals = 0
    for (let attempt = 0; attempt < clientAttemptsMax; attempt++) {
      if (attempt > 0) {
        this.t.count('clientRetries')
        await this.outside.sleep(200 + this.rng.int(1300))
        if (current.kind !== 'cancel' && this.rng.chance(0.25)) {
          current = changed(current)
          this.t.count('changedRequests')
        }
      }
      this.t.count('clientRequests')
      this.t.trace(
        () =>
          `client: ${current.kind} ${current.merchantId}/${current.key} ${JSON.stringify(current.body)}${'paymentId' in current ? ` ${current.paymentId}` : ''}`,
      )
      const answer = await this.withTimeout((gone) => this.edge.forward(current, gone))
      if (!answer) {
        this.t.count('clientTimeouts')
        continue
      }
      if (answer.status < 300 && answer.resourceId) {
        this.acknowledged.push({
          kind: current.kind,
          id: answer.resourceId,
          merchantId: current.merchantId,
          key: current.key,
          region: answer.region,
          replayed: answer.replayed === true,
        })
        return answer
      }
      this.t.count(`answered${answer.status}`)
      // Refused for what it asks (422, 400), or for the payment's state twice over: give up.
      if (answer.status === 422 || answer.status === 400) return undefined
      if (answer.status === 409 && ++refusals >= 2) return undefined
    }
    this.t.count('clientGaveUp')
    return undefined
  }

  private withTimeout(
    call: (gone: () => boolean) => Promise<ApiAnswer | undefined>,
  ): Promise<ApiAnswer | undefined> {
    return new Promise((resolve) => {
      let settled = false
      const p = call(() => settled)
      const timeoutMs = clientTimeoutMsMin + this.rng.int(clientTimeoutMsMax - clientTimeoutMsMin)
      this.outside.after(timeoutMs, () => {
        if (!settled) {
          settled = true
          resolve(undefined)
        }
      })
      void p.then((answer) => {
        if (!settled) {
          settled = true
          resolve(answer)
        }
      })
    })
  }
}

/** The same key with another request: a different amount (or capture all ↔ part). */
function changed(req: ClientRequest): ClientRequest {
  switch (req.kind) {
    case 'create':
      return { ...req, body: { ...req.body, amount: req.body.amount + 1 } }
    case 'capture':
    case 'refunds':
      return { ...req, body: req.body.amount === undefined ? { amount: 100 } : {} }
    case 'cancel':
      return req
  }
}
