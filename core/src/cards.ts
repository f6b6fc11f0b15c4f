import { fnv1a32 } from './registry.ts'

/**
 * Payment methods are opaque tokens (`tok_…`, minted by a vault we do not hold) or Stripe-style
 * test cards (`pm_card_…`). We never see or store a card number: only brand and last four.
 */
export interface CardDetails {
  readonly brand: 'visa' | 'mastercard' | 'amex' | 'unknown'
  readonly last4: string
  /** What a processor simulator does with this card; real processors decide for themselves. */
  readonly testBehavior:
    | 'approve'
    | 'generic_decline'
    | 'insufficient_funds'
    | 'fraudulent'
    | 'lost_card'
}

export const testCards: Readonly<Record<string, CardDetails>> = {
  pm_card_visa: { brand: 'visa', last4: '4242', testBehavior: 'approve' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', testBehavior: 'approve' },
  pm_card_amex: { brand: 'amex', last4: '8431', testBehavior: 'approve' },
  pm_card_visa_chargeDeclined: { brand: 'visa', last4: '0002', testBehavior: 'generic_decline' },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    testBehavior: 'insufficient_funds',
  },
  pm_card_chargeDeclinedFraudulent: { brand: 'visa', last4: '0019', testBehavior: 'fraudulent' },
  pm_card_chargeDeclinedLostCard: { brand: 'visa', last4: '9987', testBehavior: 'lost_card' },
}

export const paymentMethodPattern = /^(?:pm|tok)_[A-Za-z0-9_]{1,64}$/

/** Card details for a token: test cards are known; other tokens get a stable synthetic last4. */
export function cardFor(token: string): CardDetails {
  const known = testCards[token]
  if (known) return known
  const last4 = (fnv1a32(token) % 10_000).toString().padStart(4, '0')
  return { brand: 'unknown', last4, testBehavior: 'approve' }
}
