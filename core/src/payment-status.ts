/**
 * Payment status as a state machine declared in one table (STYLE.md §9). Every write of a status,
 * in the API, the workers and the replication merge, goes through `canTransition`.
 *
 *   pending → authorized → captured → partially_refunded → refunded
 *   pending → declined | failed
 *   authorized → canceled | expired
 */
export const paymentStatuses = [
  'pending',
  'authorized',
  'captured',
  'partially_refunded',
  'refunded',
  'declined',
  'failed',
  'canceled',
  'expired',
] as const

export type PaymentStatus = (typeof paymentStatuses)[number]

export const transitions: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  pending: ['authorized', 'declined', 'failed'],
  authorized: ['captured', 'canceled', 'expired'],
  captured: ['partially_refunded', 'refunded'],
  // A second partial refund keeps the status where it is; the refunded amount grows.
  partially_refunded: ['partially_refunded', 'refunded'],
  refunded: [],
  declined: [],
  failed: [],
  canceled: [],
  expired: [],
}

export function isPaymentStatus(value: string): value is PaymentStatus {
  return (paymentStatuses as readonly string[]).includes(value)
}

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return transitions[from].includes(to)
}

export function isTerminal(status: PaymentStatus): boolean {
  return transitions[status].length === 0
}

function closure(from: PaymentStatus): ReadonlySet<PaymentStatus> {
  const seen = new Set<PaymentStatus>([from])
  const queue: PaymentStatus[] = [from]
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const to of transitions[next]) {
      if (!seen.has(to)) {
        seen.add(to)
        queue.push(to)
      }
    }
  }
  return seen
}

const reachable: Readonly<Record<PaymentStatus, ReadonlySet<PaymentStatus>>> = Object.fromEntries(
  paymentStatuses.map((s) => [s, closure(s)]),
) as Record<PaymentStatus, ReadonlySet<PaymentStatus>>

/** True when `to` can be reached from `from` by zero or more legal transitions. */
export function canReach(from: PaymentStatus, to: PaymentStatus): boolean {
  return reachable[from].has(to)
}
