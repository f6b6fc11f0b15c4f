import { randomBytes } from 'node:crypto'
import { cardFor } from '@meridian/core'

/**
 * The money side of a processor simulator, shared by every dialect: charges with their state,
 * refunds, and the processor's own idempotency store. Like the real services, a repeated
 * idempotency key returns the first result and never acts twice.
 */
export type ChargeState = 'authorized' | 'captured' | 'voided' | 'declined'

export interface Charge {
  readonly id: string
  /** The merchant-side reference (our payment id). */
  readonly reference: string
  readonly amount: number
  readonly currency: string
  state: ChargeState
  amountCaptured: number
  amountRefunded: number
  declineCode: string | null
}

export interface SimRefund {
  readonly id: string
  readonly reference: string
  readonly chargeId: string
  readonly amount: number
  state: 'succeeded' | 'failed'
  failureCode: string | null
}

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string }

const declineCodes: Record<string, string> = {
  generic_decline: 'generic_decline',
  insufficient_funds: 'insufficient_funds',
  fraudulent: 'fraudulent',
  lost_card: 'lost_card',
}

export interface SimStats {
  requests: number
  /** Charges created per reference: the test of "no double charge" reads this. */
  authorizations: Map<string, number>
  captures: Map<string, number>
  refunds: Map<string, number>
  /** Refunds that succeeded per refund reference (our refund id): more than one is a double refund. */
  refundsByReference: Map<string, number>
  replays: number
  lostResponses: number
  timeouts: number
  errors: number
  rateLimited: number
}

/**
 * Where an engine draws its randomness (charge and refund ids, random declines). By default the
 * process's own (crypto for ids, Math.random for declines); a seeded run (the money-path model in
 * replication/src/sim/money) passes one generator so the whole run replays from its seed.
 */
export interface SimEngineOptions {
  readonly random?: () => number
}

export class SimEngine {
  readonly charges = new Map<string, Charge>()
  readonly byReference = new Map<string, string>()
  readonly refunds = new Map<string, SimRefund>()
  private readonly idempotency = new Map<string, { fingerprint: string; result: unknown }>()
  stats: SimStats = SimEngine.emptyStats()
  /** Share of otherwise approvable authorizations declined at random (generic_decline). */
  declineRate = 0

  constructor(
    private readonly idPrefix: string,
    private readonly options: SimEngineOptions = {},
  ) {}

  static emptyStats(): SimStats {
    return {
      requests: 0,
      authorizations: new Map(),
      captures: new Map(),
      refunds: new Map(),
      refundsByReference: new Map(),
      replays: 0,
      lostResponses: 0,
      timeouts: 0,
      errors: 0,
      rateLimited: 0,
    }
  }

  reset(): void {
    this.charges.clear()
    this.byReference.clear()
    this.refunds.clear()
    this.idempotency.clear()
    this.stats = SimEngine.emptyStats()
  }

  private newId(): string {
    const random = this.options.random
    const bytes = random
      ? Buffer.from(Array.from({ length: 9 }, () => Math.floor(random() * 256)))
      : randomBytes(9)
    return `${this.idPrefix}_${bytes.toString('hex')}`
  }

  /** Run `act` once per idempotency key; a reuse with other parameters is refused, as Stripe does. */
  idempotent<T>(key: string, fingerprint: string, act: () => T): Outcome<T> {
    const seen = this.idempotency.get(key)
    if (seen) {
      this.stats.replays += 1
      if (seen.fingerprint !== fingerprint) return { ok: false, code: 'idempotency_key_reused' }
      return { ok: true, value: seen.result as T }
    }
    const result = act()
    this.idempotency.set(key, { fingerprint, result })
    return { ok: true, value: result }
  }

  private bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1)
  }

  authorize(reference: string, amount: number, currency: string, token: string): Charge {
    const behavior = cardFor(token).testBehavior
    const random = this.options.random ?? Math.random
    const randomDecline = behavior === 'approve' && random() < this.declineRate
    const declineCode = randomDecline ? 'generic_decline' : (declineCodes[behavior] ?? null)
    const charge: Charge = {
      id: this.newId(),
      reference,
      amount,
      currency,
      state: declineCode ? 'declined' : 'authorized',
      amountCaptured: 0,
      amountRefunded: 0,
      declineCode,
    }
    this.charges.set(charge.id, charge)
    this.byReference.set(reference, charge.id)
    if (!declineCode) this.bump(this.stats.authorizations, reference)
    return charge
  }

  capture(chargeId: string, amount: number): Outcome<Charge> {
    const charge = this.charges.get(chargeId)
    if (!charge) return { ok: false, code: 'no_such_charge' }
    if (charge.state !== 'authorized') return { ok: false, code: `charge_${charge.state}` }
    if (amount > charge.amount) return { ok: false, code: 'amount_too_large' }
    charge.state = 'captured'
    charge.amountCaptured = amount
    this.bump(this.stats.captures, charge.reference)
    return { ok: true, value: charge }
  }

  void(chargeId: string): Outcome<Charge> {
    const charge = this.charges.get(chargeId)
    if (!charge) return { ok: false, code: 'no_such_charge' }
    if (charge.state !== 'authorized') return { ok: false, code: `charge_${charge.state}` }
    charge.state = 'voided'
    return { ok: true, value: charge }
  }

  refund(reference: string, chargeId: string, amount: number): Outcome<SimRefund> {
    const charge = this.charges.get(chargeId)
    if (!charge) return { ok: false, code: 'no_such_charge' }
    if (charge.state !== 'captured') return { ok: false, code: `charge_${charge.state}` }
    const ok = charge.amountRefunded + amount <= charge.amountCaptured
    const refund: SimRefund = {
      id: this.newId(),
      reference,
      chargeId,
      amount,
      state: ok ? 'succeeded' : 'failed',
      failureCode: ok ? null : 'amount_too_large',
    }
    if (ok) {
      charge.amountRefunded += amount
      this.bump(this.stats.refunds, charge.reference)
      this.bump(this.stats.refundsByReference, reference)
    }
    this.refunds.set(reference, refund)
    return { ok: true, value: refund }
  }

  lookup(reference: string): Charge | undefined {
    const id = this.byReference.get(reference)
    return id ? this.charges.get(id) : undefined
  }

  /** What the processor holds per charge: the truth a drill compares every region with. */
  chargesJson() {
    return [...this.charges.values()].map((c) => ({
      id: c.id,
      reference: c.reference,
      state: c.state,
      amount: c.amount,
      amountCaptured: c.amountCaptured,
      amountRefunded: c.amountRefunded,
    }))
  }

  statsJson() {
    const obj = (m: Map<string, number>) => Object.fromEntries(m)
    const total = (m: Map<string, number>) => [...m.values()].reduce((s, v) => s + v, 0)
    return {
      requests: this.stats.requests,
      authorizations: obj(this.stats.authorizations),
      authorizationsTotal: total(this.stats.authorizations),
      captures: obj(this.stats.captures),
      refunds: obj(this.stats.refunds),
      refundsByReference: obj(this.stats.refundsByReference),
      replays: this.stats.replays,
      lostResponses: this.stats.lostResponses,
      timeouts: this.stats.timeouts,
      errors: this.stats.errors,
      rateLimited: this.stats.rateLimited,
    }
  }
}
