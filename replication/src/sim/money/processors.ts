import type { Rng } from '@meridian/platform'
import { type Charge, SimEngine } from '@meridian/processor-sim'
import type { LookupResult, OperationResult, ProcessorAdapter } from '@meridian/regions/replication'
import { ProcessorError } from '@meridian/regions/replication'
import type { Host, Scheduler } from './scheduler.ts'
import type { Telemetry } from './telemetry.ts'

/** How a processor fails, per request; an outage answers 503 to everything until it ends. */
export interface ProcessorFaults {
  /** 503 before acting: the caller knows it certainly did not act. */
  readonly unavailableRate: number
  /** The request never arrives: the caller times out and cannot tell. */
  readonly lostRequestRate: number
  /** Acted, but the answer never comes back: the caller times out. */
  readonly lostResponseRate: number
  /** Acted, and answers after the caller stopped waiting. */
  readonly slowRate: number
}

export type MoneyActKind = 'authorize' | 'capture' | 'void' | 'refund'

/** One time a processor moved money (or a hold): what the no-double-charge checks count. */
export interface MoneyAct {
  readonly processor: string
  readonly kind: MoneyActKind
  /** The processor idempotency key it ran under. */
  readonly key: string
  /** Our payment id. */
  readonly paymentId: string
  readonly amount: number
}

/** How long a region waits for a processor's answer (processorTimeoutMsDefault in regions). */
export const processorTimeoutMs = 2000
const latencyMsMax = 120

/**
 * A processor in the model: the real simulator engine (charges, one capture per authorization,
 * no capture after a void, refunds never beyond what was captured, and its own idempotency
 * store that answers a repeated key with the first result and refuses a key reused with other
 * parameters), seeded, behind a network that loses, delays and refuses requests. Requests carry
 * the bodies the acquirer-rest adapter sends, so the processor's fingerprint of a request is
 * what it would be on the wire; answers become the adapter's results and ProcessorErrors as
 * `callProcessor` classifies them.
 */
export class ModelProcessor {
  readonly engine: SimEngine
  readonly acts: MoneyAct[] = []
  outageUntilMs = 0
  readonly counts = { requests: 0, unavailable: 0, lost: 0, slow: 0, replays: 0, refusals: 0 }

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler,
    private readonly rng: Rng,
    private readonly faults: ProcessorFaults,
    private readonly t: Telemetry,
  ) {
    this.engine = new SimEngine(name.slice(0, 3), { random: () => rng.next() })
  }

  /** The adapter a region's process uses to talk to this processor. */
  adapterFor(host: Host): ProcessorAdapter {
    const post = <T>(work: () => T) => this.request(host, work)
    return {
      name: this.name,
      authorize: (r) =>
        post(() => {
          const body = {
            amount: r.amount,
            currency: r.currency.toLowerCase(),
            source: r.cardToken,
            capture: false,
            reference: r.reference,
          }
          let acted = false
          const out = this.engine.idempotent(r.idempotencyKey, fp('/v1/charges', body), () => {
            acted = true
            return this.engine.authorize(r.reference, r.amount, r.currency, r.cardToken)
          })
          if (!out.ok) return this.refused()
          if (!acted) this.counts.replays++
          const charge = out.value
          if (acted && charge.state === 'authorized')
            this.record('authorize', r.idempotencyKey, r.reference, r.amount)
          return charge.state === 'declined'
            ? declined(charge.declineCode ?? 'card_declined', 'card declined')
            : approved(charge.id)
        }),
      capture: (r) =>
        post(() =>
          this.modify(
            r.idempotencyKey,
            fp(`/v1/charges/${r.processorRef}/capture`, { amount: r.amount }),
            'capture',
            () => this.engine.capture(r.processorRef, r.amount),
          ),
        ),
      void: (r) =>
        post(() =>
          this.modify(r.idempotencyKey, fp(`/v1/charges/${r.processorRef}/void`, {}), 'void', () =>
            this.engine.void(r.processorRef),
          ),
        ),
      refund: (r) =>
        post(() => {
          const body = { charge: r.processorRef, amount: r.amount, reference: r.reference }
          let acted = false
          const out = this.engine.idempotent(r.idempotencyKey, fp('/v1/refunds', body), () => {
            acted = true
            return this.engine.refund(r.reference, r.processorRef, r.amount)
          })
          if (!out.ok) return this.refused()
          if (!acted) this.counts.replays++
          if (!out.value.ok) return declined(out.value.code, 'refused by processor')
          const refund = out.value.value
          const charge = this.engine.charges.get(r.processorRef)
          if (acted && refund.state === 'succeeded' && charge)
            this.record('refund', r.idempotencyKey, charge.reference, r.amount)
          return refund.state === 'succeeded'
            ? approved(refund.id)
            : declined(refund.failureCode ?? 'refund_failed', 'refund failed')
        }),
      lookup: (reference, kind) =>
        post((): LookupResult => {
          if (kind === 'refund') {
            const f = this.engine.refunds.get(reference)
            if (!f) return { status: 'not_found' }
            return f.state === 'succeeded'
              ? { status: 'refunded', processorRef: f.id }
              : { status: 'refund_failed' }
          }
          const c = this.engine.lookup(reference)
          if (!c) return { status: 'not_found' }
          if (c.state === 'declined')
            return { status: 'declined', code: c.declineCode ?? 'declined' }
          if (c.state === 'voided') return { status: 'voided', processorRef: c.id }
          return { status: c.state, processorRef: c.id }
        }),
    }
  }

  /** A capture or void under its key: acts once, replays after, refuses other parameters. */
  private modify(
    key: string,
    fingerprint: string,
    kind: 'capture' | 'void',
    act: () => ReturnType<SimEngine['capture']>,
  ): OperationResult {
    let acted = false
    const out = this.engine.idempotent(key, fingerprint, () => {
      acted = true
      return act()
    })
    if (!out.ok) return this.refused()
    if (!acted) this.counts.replays++
    if (!out.value.ok) return declined(out.value.code, 'refused by processor')
    const charge: Charge = out.value.value
    if (acted)
      this.record(kind, key, charge.reference, kind === 'capture' ? charge.amountCaptured : 0)
    return approved(charge.id)
  }

  /**
   * The key was used before with other parameters: refused without acting. As the adapters
   * read it: not this request's outcome (the processor acted on another version), so unknown.
   */
  private refused(): OperationResult {
    this.counts.refusals++
    this.t.trace(() => `${this.name}: refused a key reused with other parameters`)
    return {
      status: 'unknown',
      reason: 'idempotency_key_reused: the processor acted on another version of this operation',
    }
  }

  private record(kind: MoneyActKind, key: string, paymentId: string, amount: number): void {
    this.acts.push({ processor: this.name, kind, key, paymentId, amount })
    this.t.trace(() => `${this.name}: ${kind} ${amount} of ${paymentId} under ${key}`)
  }

  /**
   * One request from `host`: out over the network, handled when it arrives, the answer back. The
   * caller's wait is bounded by processorTimeoutMs; a crashed caller never hears anything.
   */
  private request<T>(host: Host, handle: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const settle = (f: () => void) => {
        if (settled) return
        settled = true
        f()
      }
      const caller = host.bound()
      caller(processorTimeoutMs, () =>
        settle(() => reject(new ProcessorError('processor timed out', true, true))),
      )
      this.scheduler.after(1 + this.rng.int(latencyMsMax), () => {
        this.counts.requests++
        this.engine.stats.requests++
        const back = 1 + this.rng.int(latencyMsMax)
        if (
          this.scheduler.nowMs < this.outageUntilMs ||
          this.rng.chance(this.faults.unavailableRate)
        ) {
          this.counts.unavailable++
          this.t.trace(() => `${this.name}: 503 to ${host.name}`)
          caller(back, () =>
            settle(() => reject(new ProcessorError('processor unavailable (503)', true, false))),
          )
          return
        }
        if (this.rng.chance(this.faults.lostRequestRate)) {
          this.counts.lost++
          this.t.trace(() => `${this.name}: request from ${host.name} lost`)
          return
        }
        const answer = handle()
        if (this.rng.chance(this.faults.lostResponseRate)) {
          this.counts.lost++
          this.t.trace(() => `${this.name}: answer to ${host.name} lost`)
          this.engine.stats.lostResponses++
          return
        }
        const slow = this.rng.chance(this.faults.slowRate)
        if (slow) this.counts.slow++
        caller(back + (slow ? processorTimeoutMs : 0), () => settle(() => resolve(answer)))
      })
    })
  }

  /** Money this processor moved for a payment: what every region must show in the end. */
  moneyOf(paymentId: string): { captured: number; refunded: number; charges: Charge[] } {
    const charges = [...this.engine.charges.values()].filter((c) => c.reference === paymentId)
    return {
      captured: charges.reduce((s, c) => s + c.amountCaptured, 0),
      refunded: charges.reduce((s, c) => s + c.amountRefunded, 0),
      charges,
    }
  }
}

function fp(path: string, body: unknown): string {
  return `POST ${path} ${JSON.stringify(body)}`
}

const approved = (processorRef: string): OperationResult => ({ status: 'approved', processorRef })
const declined = (code: string, message: string): OperationResult => ({
  status: 'declined',
  code,
  message,
})
