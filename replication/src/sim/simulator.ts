import {
  captureEntry,
  formatHlc,
  HybridClock,
  holdEntry,
  type IdempotencyReplica,
  isTerminal,
  type JournalEntry,
  type Payment,
  type PaymentReplica,
  type PaymentStatus,
  paymentMethodFor,
  type Refund,
  refundEntry,
  releaseEntry,
  transitions,
} from '@meridian/core'
import { Rng } from '@meridian/platform'
import { editDoc } from '@meridian/regions/replication'
import { type SimEvent, SimRegion } from './region.ts'

/**
 * A deterministic simulation of three regions replicating through lossy, reordering,
 * duplicating, partitioned links, in the spirit of TigerBeetle's VOPR: one seed drives every
 * choice, a failing seed is printed and replays exactly. Regions merge with the real rules; at
 * the end the network heals and drains, and the invariants of DESIGN.md are checked.
 */
export interface SimOptions {
  readonly seed: number
  readonly steps: number
  readonly regions?: readonly string[]
  /** Replace the payment merge (tests prove the simulator catches a wrong one). */
  readonly paymentMerge?: (a: PaymentReplica, b: PaymentReplica) => PaymentReplica
}

export interface SimReport {
  readonly seed: number
  readonly steps: number
  readonly ok: boolean
  readonly problems: readonly string[]
  readonly digest: string | undefined
  readonly stats: Readonly<Record<string, number>>
}

const merchants = ['mer_a', 'mer_b', 'mer_c'] as const
const amounts = [500, 1000, 2500] as const
const keysPerMerchant = 12

export function runSimulation(options: SimOptions): SimReport {
  const rng = new Rng(options.seed)
  const ids = options.regions ?? ['us-east', 'eu-west', 'ap-south']
  const regions = new Map(ids.map((id) => [id, new SimRegion(id, options.paymentMerge)]))
  let step = 0
  // Each region's physical clock runs at the same pace with its own skew (up to ±30 ms).
  const clocks = new Map(
    ids.map((id) => {
      const skew = rng.int(61) - 30
      return [id, new HybridClock(id, () => 1_800_000_000_000 + step * 10 + skew)]
    }),
  )
  const queues = new Map<string, SimEvent[]>()
  const down = new Map<string, number>()
  const delivered: { event: SimEvent; to: string }[] = []
  const acknowledged = new Set<string>()
  const stats: Record<string, number> = {
    events: 0,
    deliveries: 0,
    duplicates: 0,
    reorders: 0,
    partitions: 0,
    crashes: 0,
    replays: 0,
    refusals: 0,
  }
  let counter = 0
  const link = (from: string, to: string) => `${from}>${to}`
  const region = (id: string) => {
    const r = regions.get(id)
    if (!r) throw new Error(`no region ${id}`)
    return r
  }
  const clock = (id: string) => {
    const c = clocks.get(id)
    if (!c) throw new Error(`no clock ${id}`)
    return c
  }

  /** A local write: applied here at once, queued to every other region. */
  const emit = (origin: string, body: Omit<SimEvent, 'id' | 'origin'>) => {
    const event: SimEvent = { ...body, id: `evt_${options.seed}_${counter++}`, origin }
    region(origin).apply(event)
    stats.events = (stats.events ?? 0) + 1
    for (const to of ids)
      if (to !== origin)
        queues.set(link(origin, to), [...(queues.get(link(origin, to)) ?? []), event])
  }

  const create = (at: string) => {
    const r = region(at)
    const merchantId = rng.pick(merchants)
    const key = `k${rng.int(keysPerMerchant)}`
    const amount = rng.pick(amounts)
    const fingerprint = `amount=${amount}`
    const existing = r.idempotency.get(`${merchantId}/${key}`)
    if (existing) {
      if (existing.fingerprint === fingerprint) stats.replays = (stats.replays ?? 0) + 1
      else stats.refusals = (stats.refusals ?? 0) + 1
      return
    }
    const hlc = formatHlc(clock(at).now())
    const id = `pay_${options.seed}_${counter++}`
    const payment: Payment = {
      id,
      merchantId,
      amount,
      currency: 'USD',
      status: 'pending',
      captureMethod: 'manual',
      amountCaptured: 0,
      amountRefunded: 0,
      amountRefundPending: 0,
      pendingOperation: null,
      amountCaptureRequested: 0,
      paymentMethod: paymentMethodFor('pm_card_visa'),
      description: null,
      metadata: {},
      declineCode: null,
      failureMessage: null,
      processor: 'acq',
      processorRef: null,
      authorizedAtMs: null,
      originRegion: at,
      createdAtMs: 0,
      hlc,
      version: 1,
    }
    const idempotency: IdempotencyReplica = {
      merchantId,
      key,
      fingerprint,
      status: 202,
      body: `{"id":"${id}"}`,
      resourceId: id,
      originRegion: at,
      hlc,
    }
    r.count(merchantId, at, 1)
    emit(at, { merchantId, payment, idempotency })
    acknowledged.add(id)
  }

  /**
   * A merchant's retry failed over with the edge's payment id to a region the original has not
   * reached yet: the same payment is created a second time, here, with this region as origin.
   */
  const failoverCreate = (at: string) => {
    const r = region(at)
    const elsewhere = ids
      .filter((id) => id !== at)
      .flatMap((id) => [...region(id).payments.values()])
      .filter(
        (p) =>
          p.payment.status === 'pending' &&
          p.payment.version === 1 &&
          !r.payments.has(p.payment.id),
      )
    if (elsewhere.length === 0) return
    const original = rng.pick(elsewhere).payment
    const twin = region(original.originRegion).idempotency
    const record = [...twin.values()].find((i) => i.resourceId === original.id)
    if (!record || r.idempotency.has(`${record.merchantId}/${record.key}`)) return
    const hlc = formatHlc(clock(at).now())
    const payment: Payment = { ...original, originRegion: at, hlc, createdAtMs: step }
    r.count(payment.merchantId, at, 1)
    emit(at, {
      merchantId: payment.merchantId,
      payment,
      idempotency: { ...record, originRegion: at, hlc },
    })
    stats.failoverCreates = (stats.failoverCreates ?? 0) + 1
  }

  const advance = (at: string) => {
    const r = region(at)
    const open = [...r.payments.values()].filter((p) => !isTerminal(p.payment.status))
    if (open.length === 0) return
    const p = rng.pick(open).payment
    const next: PaymentStatus = rng.pick(transitions[p.status])
    const entries: JournalEntry[] = []
    let refund: Refund | undefined
    const changes: { -readonly [K in keyof Payment]?: Payment[K] } = { status: next }
    if (next === 'authorized') entries.push(holdEntry(p, 'acq'))
    if (next === 'captured') {
      entries.push(captureEntry(p, 'acq', p.amount))
      changes.amountCaptured = p.amount
    }
    if (next === 'canceled' || next === 'expired') entries.push(releaseEntry(p, 'acq'))
    if (next === 'partially_refunded' || next === 'refunded') {
      const left = p.amountCaptured - p.amountRefunded
      const amount = next === 'refunded' ? left : Math.max(1, Math.floor(left / 2))
      if (amount <= 0 || (next === 'partially_refunded' && amount >= left)) return
      refund = {
        id: `re_${options.seed}_${counter++}`,
        paymentId: p.id,
        merchantId: p.merchantId,
        amount,
        currency: p.currency,
        status: 'succeeded',
        reason: null,
        metadata: {},
        failureMessage: null,
        processorRef: null,
        originRegion: at,
        createdAtMs: 0,
      }
      entries.push(refundEntry(refund, p, 'acq'))
      changes.amountRefunded = p.amountRefunded + amount
    }
    const payment: Payment = {
      ...p,
      ...changes,
      version: p.version + 1,
      hlc: formatHlc(clock(at).now()),
    }
    emit(at, { merchantId: p.merchantId, payment, entries, ...(refund ? { refund } : {}) })
  }

  const editConfig = (at: string) => {
    const r = region(at)
    const merchantId = rng.pick(merchants)
    const endpoint = `we_${counter++}`
    // A seeded actor: Automerge settles concurrent edits of one field by actor id.
    const actor = Buffer.from(`sim-${options.seed}-${endpoint}`).toString('hex')
    const { doc, changes } = editDoc(
      r.config(merchantId),
      (d) => {
        d.webhookEndpoints[endpoint] = {
          url: `https://${at}.example/${endpoint}`,
          enabledEvents: ['*'],
          status: 'enabled',
          // The shape, not a real sealed value: the simulator never opens it.
          secrets: { ws_sim: { sealed: 'wse1.sim', createdMs: 0, expiries: {} } },
          createdMs: 0,
        }
        if (rng.chance(0.3)) d.limits.ratePerSec = 1 + rng.int(100)
      },
      actor,
    )
    r.configs.set(merchantId, doc)
    emit(at, { merchantId, changes })
  }

  const deliver = (drain = false) => {
    const ready = [...queues.entries()].filter(
      ([l, q]) => q.length > 0 && (drain || (down.get(l) ?? 0) <= step),
    )
    if (ready.length === 0) return false
    const [l, q] = rng.pick(ready)
    // Kafka keeps order per merchant partition, but the merges must not depend on it: sometimes
    // deliver out of order, even within one merchant.
    const index = !drain && q.length > 1 && rng.chance(0.15) ? rng.int(Math.min(q.length, 6)) : 0
    if (index > 0) stats.reorders = (stats.reorders ?? 0) + 1
    const [event] = q.splice(index, 1)
    const to = l.split('>')[1] ?? ''
    if (!event) return false
    region(to).apply(event)
    delivered.push({ event, to })
    stats.deliveries = (stats.deliveries ?? 0) + 1
    return true
  }

  for (step = 0; step < options.steps; step++) {
    const at = rng.pick(ids)
    const roll = rng.next()
    if (roll < 0.27) create(at)
    else if (roll < 0.3) failoverCreate(at)
    else if (roll < 0.55) advance(at)
    else if (roll < 0.6) editConfig(at)
    else if (roll < 0.88) deliver()
    else if (roll < 0.92 && delivered.length > 0) {
      // At-least-once delivery: something already delivered arrives again.
      const { event, to } = rng.pick(delivered)
      queues.set(link(event.origin, to), [...(queues.get(link(event.origin, to)) ?? []), event])
      stats.duplicates = (stats.duplicates ?? 0) + 1
    } else if (roll < 0.96) {
      const from = rng.pick(ids)
      const to = rng.pick(ids.filter((i) => i !== from))
      down.set(link(from, to), step + 5 + rng.int(40))
      stats.partitions = (stats.partitions ?? 0) + 1
    } else if (delivered.length > 0) {
      // A crash after applying but before recording it: the last few re-apply without dedupe.
      const victim = rng.pick(ids)
      for (const { event } of delivered.filter((d) => d.to === victim).slice(-5))
        region(victim).apply(event, false)
      stats.crashes = (stats.crashes ?? 0) + 1
    }
  }

  // Heal every partition and drain every queue.
  down.clear()
  while (deliver(true)) {}

  const problems: string[] = []
  const digests = new Map(ids.map((id) => [id, region(id).digest()]))
  if (new Set(digests.values()).size !== 1)
    problems.push(
      `diverged: ${[...digests].map(([id, d]) => `${id} ${d.slice(0, 12)}`).join(', ')}`,
    )
  for (const id of ids) {
    const r = region(id)
    const missing = [...acknowledged].filter((p) => !r.payments.has(p))
    if (missing.length > 0)
      problems.push(`${id} lost ${missing.length} acknowledged payments, e.g. ${missing[0]}`)
    problems.push(...r.ledgerProblems().map((p) => `${id}: ${p}`))
    problems.push(...r.regressions.map((p) => `${id}: status moved backwards: ${p}`))
  }
  const first = region(ids[0] ?? '')
  stats.payments = first.payments.size
  stats.conflicts = first.conflicts.size
  stats.entries = first.entries.size
  return {
    seed: options.seed,
    steps: options.steps,
    ok: problems.length === 0,
    problems,
    digest: digests.get(ids[0] ?? ''),
    stats,
  }
}
