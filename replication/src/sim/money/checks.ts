import { assertBalanced, keptPayment, processorKeys } from '@meridian/core'
import type { Made } from './api.ts'
import type { ModelProcessor } from './processors.ts'
import type { ModelRegion } from './region.ts'
import type { Acknowledged } from './traffic.ts'

export interface World {
  readonly regions: readonly ModelRegion[]
  readonly processors: readonly ModelProcessor[]
  readonly acknowledged: readonly Acknowledged[]
  readonly made: readonly Made[]
}

/**
 * The invariants of DESIGN.md and issue 16, checked after heal and quiescence. Money is counted
 * at the processors (what they did), never from what the regions think. Each problem names its
 * invariant: [1 acknowledged] [2 double charge] [3 ledger] [4 converge] [5 forward] [6 final].
 */
export function checkInvariants(w: World): string[] {
  return [
    ...acknowledgedEverywhere(w),
    ...noDoubleCharge(w),
    ...ledgerBalances(w),
    ...converged(w),
    ...forwardOnly(w),
    ...finalAndTrue(w),
  ]
}

function acknowledgedEverywhere(w: World): string[] {
  const out: string[] = []
  for (const a of w.acknowledged)
    for (const r of w.regions) {
      const s = r.store
      const held =
        a.kind === 'create'
          ? s.payments.has(a.id)
          : a.kind === 'refunds'
            ? s.refunds.has(a.id)
            : s.operations.has(a.id)
      if (!held)
        out.push(
          `[1 acknowledged] ${r.store.region} lacks ${a.id} (${a.kind} ${a.merchantId}/${a.key}, answered by ${a.region})`,
        )
    }
  return out
}

/** What every processor did for one payment. */
function truth(w: World, paymentId: string) {
  const per = w.processors.map((p) => ({ name: p.name, ...p.moneyOf(paymentId) }))
  return {
    captured: per.reduce((s, p) => s + p.captured, 0),
    refunded: per.reduce((s, p) => s + p.refunded, 0),
    charges: per.flatMap((p) => p.charges.map((c) => ({ processor: p.name, charge: c }))),
    authorizations: w.processors.reduce(
      (s, p) => s + (p.engine.stats.authorizations.get(paymentId) ?? 0),
      0,
    ),
  }
}

/** A charge still holding or keeping the customer's money. */
function live(c: { state: string; amountCaptured: number; amountRefunded: number }): boolean {
  return c.state === 'authorized' || (c.state === 'captured' && c.amountCaptured > c.amountRefunded)
}

function noDoubleCharge(w: World): string[] {
  const out: string[] = []
  const first = w.regions[0]?.store
  if (!first) return out
  const paymentIds = new Set([
    ...w.made.filter((m) => m.kind === 'payment').map((m) => m.id),
    ...first.payments.keys(),
  ])
  for (const id of [...paymentIds].sort()) {
    const t = truth(w, id)
    if (t.authorizations > 1)
      out.push(
        `[2 double charge] ${id} authorized ${t.authorizations} times at the processors (${t.charges.map((c) => `${c.processor}:${c.charge.state}${c.charge.amountCaptured ? ` captured ${c.charge.amountCaptured}` : ''}`).join(', ')})`,
      )
    const status = first.payments.get(id)?.payment.status
    for (const { processor, charge } of t.charges)
      if (charge.state === 'authorized' && status !== 'authorized')
        out.push(
          `[2 double charge] ${id}: an authorization at ${processor} is left open while the regions show ${status}`,
        )
  }
  // One effective processor action per processor key, over every processor.
  const acts = w.processors.flatMap((p) => p.acts).filter((a) => a.kind !== 'authorize')
  const byKey = new Map<string, typeof acts>()
  for (const a of acts) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a])
  for (const [key, list] of byKey)
    if (list.length > 1)
      out.push(
        `[2 double charge] processor key ${key} acted ${list.length} times (${list.map((a) => `${a.processor} ${a.kind} ${a.amount}`).join(', ')})`,
      )
  // One effective action per merchant request (merchant, Idempotency-Key), whatever ids it got.
  const byRequest = new Map<string, Made[]>()
  for (const m of w.made) {
    const k = `${m.merchantId}/${m.key}`
    if (!byRequest.get(k)?.some((x) => x.id === m.id))
      byRequest.set(k, [...(byRequest.get(k) ?? []), m])
  }
  for (const [k, objects] of byRequest) {
    if (objects[0]?.kind === 'payment') {
      out.push(...oneChargePerKey(w, k, objects))
      continue
    }
    const keys = new Set(
      objects.map((o) =>
        o.kind === 'refund' ? processorKeys.refund(o) : processorKeys.operation(o),
      ),
    )
    const done = acts.filter((a) => keys.has(a.key))
    if (objects.length > 1 && done.length > 1)
      out.push(
        `[2 double charge] request ${k} made ${objects.length} objects and the processors acted ${done.length} times (${done.map((a) => `${a.kind} ${a.amount}`).join(', ')})`,
      )
  }
  return out
}

/** Under one create key: at most one payment keeps money, and never more than one amount. */
function oneChargePerKey(w: World, k: string, payments: readonly Made[]): string[] {
  const out: string[] = []
  const first = w.regions[0]?.store
  if (!first) return out
  const live_ = payments.filter((p) => truth(w, p.id).charges.some((c) => live(c.charge)))
  const net = payments.reduce((s, p) => {
    const t = truth(w, p.id)
    return s + t.captured - t.refunded
  }, 0)
  const most = Math.max(...payments.map((p) => p.amount))
  if (net > most)
    out.push(
      `[2 double charge] key ${k}: the processors kept ${net} over ${payments.length} payments, more than one payment's ${most}`,
    )
  if (live_.length > 1)
    out.push(
      `[2 double charge] key ${k}: ${live_.length} payments still hold or keep money (${live_.map((p) => p.id).join(', ')})`,
    )
  if (payments.length > 1) {
    const record = first.idempotency.get(k)
    const rows = payments
      .map((p) => first.payments.get(p.id)?.payment)
      .filter((p) => p !== undefined)
    const kept = keptPayment(rows, record?.resourceId ?? '')
    for (const p of payments)
      if (p.id !== kept && live_.some((l) => l.id === p.id))
        out.push(
          `[2 double charge] key ${k}: duplicate ${p.id} (kept ${kept}) was not compensated (${truth(
            w,
            p.id,
          )
            .charges.map((c) => `${c.processor}:${c.charge.state}`)
            .join(', ')})`,
        )
  }
  return out
}

function ledgerBalances(w: World): string[] {
  const out: string[] = []
  for (const r of w.regions) {
    const totals = new Map<string, number>()
    for (const e of r.store.entries.values()) {
      try {
        assertBalanced(e)
      } catch (error) {
        out.push(`[3 ledger] ${r.store.region}: ${String(error)}`)
      }
      for (const p of e.postings) totals.set(p.currency, (totals.get(p.currency) ?? 0) + p.amount)
    }
    for (const [currency, total] of totals)
      if (total !== 0) out.push(`[3 ledger] ${r.store.region}: off by ${total} ${currency}`)
  }
  return out
}

function converged(w: World): string[] {
  const [first, ...rest] = w.regions
  if (!first) return []
  const mine = first.store.digestLines()
  const out: string[] = []
  for (const r of rest) {
    const theirs = r.store.digestLines()
    for (const section of Object.keys(mine)) {
      const a = mine[section] ?? []
      const b = theirs[section] ?? []
      if (a.join('\n') === b.join('\n')) continue
      const onlyA = a.filter((l) => !b.includes(l))
      const onlyB = b.filter((l) => !a.includes(l))
      out.push(
        `[4 converge] ${first.store.region} and ${r.store.region} differ in ${section}: ${first.store.region} has ${onlyA[0] ?? '—'}; ${r.store.region} has ${onlyB[0] ?? '—'}`,
      )
    }
  }
  return out
}

function forwardOnly(w: World): string[] {
  return w.regions.flatMap((r) => r.store.offMachine.map((m) => `[5 forward] ${m}`))
}

function finalAndTrue(w: World): string[] {
  const out: string[] = []
  for (const r of w.regions) {
    const s = r.store
    for (const { payment: p } of s.payments.values()) {
      if (p.status === 'pending') out.push(`[6 final] ${s.region}: payment ${p.id} still pending`)
      const t = truth(w, p.id)
      if (p.amountCaptured !== t.captured || p.amountRefunded !== t.refunded)
        out.push(
          `[6 final] ${s.region}: ${p.id} shows captured ${p.amountCaptured} refunded ${p.amountRefunded} (${p.status}); the processors did captured ${t.captured} refunded ${t.refunded}`,
        )
    }
    for (const { value: o } of s.operations.values())
      if (o.status === 'pending')
        out.push(`[6 final] ${s.region}: ${o.kind} ${o.id} of ${o.paymentId} still pending`)
    for (const { value: f } of s.refunds.values())
      if (f.status === 'pending')
        out.push(`[6 final] ${s.region}: refund ${f.id} of ${f.paymentId} still pending`)
  }
  return out
}
