import type { CurrencyCode } from './currencies.ts'
import { invariant } from './invariant.ts'
import { isMinorAmount } from './money.ts'

/**
 * Double-entry bookkeeping, two-phase like TigerBeetle: an authorization is a pending hold, a
 * capture posts (and releases the rest of the hold), a void or expiry releases, a refund reverses.
 * Amounts are signed minor units: positive debits, negative credits. Every entry sums to zero in
 * each currency; that is asserted before an entry is written and after it is read.
 */
export type AccountKind =
  | 'merchant_pending'
  | 'merchant_available'
  | 'processor_holds'
  | 'processor_clearing'
  | 'fee_revenue'

export interface Posting {
  readonly account: string
  readonly amount: number
  readonly currency: CurrencyCode
}

export type EntryKind = 'hold' | 'capture' | 'release' | 'refund'

export interface JournalEntry {
  /**
   * Content-addressed: `<payment or refund id>:<kind>:<hash of the postings>`. The same operation
   * posts the same id in every region (replication dedupes it); a different one never collides.
   */
  readonly id: string
  readonly paymentId: string
  readonly merchantId: string
  readonly kind: EntryKind
  readonly postings: readonly Posting[]
}

/** Processing fee taken at capture, in basis points of the captured amount, rounded down. */
export const feeBasisPoints = 290

export function feeFor(amount: number): number {
  return Math.floor((amount * feeBasisPoints) / 10_000)
}

export const accounts = {
  merchantPending: (merchant: string, currency: CurrencyCode) =>
    `merchant:${merchant}:pending:${currency}`,
  merchantAvailable: (merchant: string, currency: CurrencyCode) =>
    `merchant:${merchant}:available:${currency}`,
  processorHolds: (processor: string, currency: CurrencyCode) =>
    `processor:${processor}:holds:${currency}`,
  processorClearing: (processor: string, currency: CurrencyCode) =>
    `processor:${processor}:clearing:${currency}`,
  feeRevenue: (currency: CurrencyCode) => `meridian:fees:${currency}`,
}

export function kindOfAccount(account: string): AccountKind {
  const [owner, , kind] = account.split(':')
  if (owner === 'meridian') return 'fee_revenue'
  if (owner === 'merchant') return kind === 'pending' ? 'merchant_pending' : 'merchant_available'
  return kind === 'holds' ? 'processor_holds' : 'processor_clearing'
}

/** Throws (a programmer error) unless the entry balances per currency with non-zero postings. */
export function assertBalanced(entry: JournalEntry): void {
  invariant(entry.postings.length >= 2, `entry ${entry.id} has fewer than two postings`)
  const sums = new Map<string, number>()
  for (const p of entry.postings) {
    invariant(
      isMinorAmount(p.amount) && p.amount !== 0,
      `entry ${entry.id}: bad posting ${p.amount}`,
    )
    sums.set(p.currency, (sums.get(p.currency) ?? 0) + p.amount)
  }
  for (const [currency, sum] of sums) {
    invariant(sum === 0, `entry ${entry.id} does not balance in ${currency}: off by ${sum}`)
  }
}

/** 64-bit FNV-1a (two 32-bit lanes) of the canonical postings, as 16 hex digits. */
function contentHash(postings: readonly Posting[]): string {
  const text = postings.map((p) => `${p.account}|${p.amount}|${p.currency}`).join(';')
  let h1 = 0x811c9dc5
  let h2 = 0x01000193 ^ 0x5bd1e995
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ c, 0x01000193 + 2) >>> 0
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')
}

function entry(e: Omit<JournalEntry, 'id'> & { readonly subject: string }): JournalEntry {
  const { subject, ...rest } = e
  const built = { ...rest, id: `${subject}:${e.kind}:${contentHash(e.postings)}` }
  assertBalanced(built)
  return built
}

interface PaymentFacts {
  readonly id: string
  readonly merchantId: string
  readonly amount: number
  readonly currency: CurrencyCode
}

/** Authorization: the processor holds `amount` for the merchant, not yet theirs. */
export function holdEntry(p: PaymentFacts, processor: string): JournalEntry {
  return entry({
    subject: p.id,
    paymentId: p.id,
    merchantId: p.merchantId,
    kind: 'hold',
    postings: [
      {
        account: accounts.processorHolds(processor, p.currency),
        amount: p.amount,
        currency: p.currency,
      },
      {
        account: accounts.merchantPending(p.merchantId, p.currency),
        amount: 0 - p.amount,
        currency: p.currency,
      },
    ],
  })
}

/** Capture `captured` ≤ amount: release the whole hold, post the capture net of the fee. */
export function captureEntry(p: PaymentFacts, processor: string, captured: number): JournalEntry {
  invariant(captured > 0 && captured <= p.amount, `capture ${captured} outside 1..${p.amount}`)
  const fee = feeFor(captured)
  const postings: Posting[] = [
    {
      account: accounts.merchantPending(p.merchantId, p.currency),
      amount: p.amount,
      currency: p.currency,
    },
    {
      account: accounts.processorHolds(processor, p.currency),
      amount: 0 - p.amount,
      currency: p.currency,
    },
    {
      account: accounts.processorClearing(processor, p.currency),
      amount: captured,
      currency: p.currency,
    },
    {
      account: accounts.merchantAvailable(p.merchantId, p.currency),
      amount: 0 - (captured - fee),
      currency: p.currency,
    },
  ]
  if (fee > 0)
    postings.push({
      account: accounts.feeRevenue(p.currency),
      amount: 0 - fee,
      currency: p.currency,
    })
  return entry({
    subject: p.id,
    paymentId: p.id,
    merchantId: p.merchantId,
    kind: 'capture',
    postings,
  })
}

/** Void or expiry: the hold goes away, nothing moves. */
export function releaseEntry(p: PaymentFacts, processor: string): JournalEntry {
  return entry({
    subject: p.id,
    paymentId: p.id,
    merchantId: p.merchantId,
    kind: 'release',
    postings: [
      {
        account: accounts.merchantPending(p.merchantId, p.currency),
        amount: p.amount,
        currency: p.currency,
      },
      {
        account: accounts.processorHolds(processor, p.currency),
        amount: 0 - p.amount,
        currency: p.currency,
      },
    ],
  })
}

/** Refund: reverse `amount` from the merchant's available funds back through the processor. */
export function refundEntry(
  refund: { readonly id: string; readonly amount: number },
  p: PaymentFacts,
  processor: string,
): JournalEntry {
  return entry({
    subject: refund.id,
    paymentId: p.id,
    merchantId: p.merchantId,
    kind: 'refund',
    postings: [
      {
        account: accounts.merchantAvailable(p.merchantId, p.currency),
        amount: refund.amount,
        currency: p.currency,
      },
      {
        account: accounts.processorClearing(processor, p.currency),
        amount: 0 - refund.amount,
        currency: p.currency,
      },
    ],
  })
}

export interface BalanceRow {
  readonly account: string
  readonly currency: CurrencyCode
  /** Signed sum of postings: merchant funds are credits, so they are negative here. */
  readonly balance: number
}

/** `GET /v1/balance`: what the merchant is owed, per currency, as positive amounts. */
export function presentBalance(rows: readonly BalanceRow[]) {
  const pick = (kind: AccountKind) =>
    rows
      .filter((r) => kindOfAccount(r.account) === kind)
      .map((r) => ({ amount: 0 - r.balance, currency: r.currency.toLowerCase() }))
      .sort((a, b) => (a.currency < b.currency ? -1 : 1))
  return {
    object: 'balance',
    pending: pick('merchant_pending'),
    available: pick('merchant_available'),
  }
}
