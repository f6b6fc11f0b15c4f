import type { CurrencyCode } from './currencies.ts'

/**
 * Tier-1 fraud rules: cheap enough for the fast path (well under a millisecond). Counters live in
 * Redis; the decisions are these pure functions. Anything subtler belongs to a later tier.
 */
export interface FraudPolicy {
  /** Largest single payment a merchant may take, in minor units of any currency. */
  readonly singlePaymentMinorMax: number
  /** Payments per card (per merchant) per window before further ones are declined. */
  readonly cardPaymentsPerWindowMax: number
  /** Payments per merchant per window: a runaway integration or a card-testing attack. */
  readonly merchantPaymentsPerWindowMax: number
  readonly velocityWindowSec: number
}

export const defaultFraudPolicy: FraudPolicy = {
  singlePaymentMinorMax: 5_000_000_00,
  cardPaymentsPerWindowMax: 20,
  merchantPaymentsPerWindowMax: 1_000_000,
  velocityWindowSec: 60,
}

export type FraudRule = 'blocklist' | 'amount_over_limit' | 'velocity_card' | 'velocity_merchant'

export type FraudVerdict =
  | { readonly allow: true }
  | { readonly allow: false; readonly rule: FraudRule; readonly message: string }

export interface FraudFacts {
  readonly amount: number
  readonly currency: CurrencyCode
  readonly cardBlocked: boolean
  /** Counts in the current window, including this payment. */
  readonly cardCount: number
  readonly merchantCount: number
}

/** Rules in order of certainty: a blocked card is declined whatever else is true. */
export function evaluateFraud(facts: FraudFacts, policy: FraudPolicy): FraudVerdict {
  if (facts.cardBlocked)
    return { allow: false, rule: 'blocklist', message: 'The card is on the blocklist.' }
  if (facts.amount > policy.singlePaymentMinorMax) {
    return {
      allow: false,
      rule: 'amount_over_limit',
      message: `Amount exceeds the single-payment limit of ${policy.singlePaymentMinorMax}.`,
    }
  }
  if (facts.cardCount > policy.cardPaymentsPerWindowMax) {
    return {
      allow: false,
      rule: 'velocity_card',
      message: `More than ${policy.cardPaymentsPerWindowMax} payments with this card in ${policy.velocityWindowSec} s.`,
    }
  }
  if (facts.merchantCount > policy.merchantPaymentsPerWindowMax) {
    return {
      allow: false,
      rule: 'velocity_merchant',
      message: `More than ${policy.merchantPaymentsPerWindowMax} payments in ${policy.velocityWindowSec} s.`,
    }
  }
  return { allow: true }
}
