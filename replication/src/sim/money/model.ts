import { fleet, sampleMerchants, setCryptoProvider } from '@meridian/core'
import { nodeCryptoProvider, Rng } from '@meridian/platform'
import { ProcessorSet } from '@meridian/regions/replication'
import type { Made, Protocol } from './api.ts'
import { checkInvariants } from './checks.ts'
import { Replication } from './network.ts'
import { ModelProcessor, type ProcessorFaults } from './processors.ts'
import { ModelRegion, type ReconcilerTimes } from './region.ts'
import { Host, Scheduler } from './scheduler.ts'
import { Telemetry } from './telemetry.ts'
import { Edge, Merchants } from './traffic.ts'

/**
 * The money path as a deterministic simulation (issue 16): merchants → edge → three regions
 * (API, workers, reconciler and compensator, replication) → two or more processors, with hung
 * and crashed regions, stalled and partitioned links, and processors that refuse, lose and delay,
 * all driven by one seed. After the traffic, everything heals, replication drains, the workers
 * and reconcilers run until nothing changes any more (at most 5 minutes), and the invariants are
 * checked (checks.ts). `protocol: 'random-ids'` runs the protocol before 2e85293 (payment ids
 * minted per edge request, operation and refund ids per region request, no compensation of
 * duplicates), which double charges.
 */
export interface MoneyOptions {
  readonly seed: number
  /** Payments per merchant (each a create, and perhaps captures, cancels and refunds). */
  readonly stories?: number
  readonly protocol?: Protocol
  /** Faults injected during the traffic (hangs, crashes, partitions, stalls, outages). */
  readonly faults?: number
  /** Keep a line per step (report.trace): how a failing seed is read. */
  readonly trace?: boolean
}

export interface MoneyReport {
  readonly seed: number
  readonly protocol: Protocol
  readonly ok: boolean
  readonly problems: readonly string[]
  /** Errors the processes logged and survived (the real ones would too), first few. */
  readonly logged: readonly string[]
  readonly digest: string | undefined
  readonly stats: Readonly<Record<string, number>>
  readonly trace?: readonly string[]
}

const trafficMs = 20_000
/** Issue 16: every operation final within 5 minutes after the regions heal. */
const settleMsMax = 300_000
const quietCheckMs = 5000
const faults: ProcessorFaults = {
  unavailableRate: 0.04,
  lostRequestRate: 0.01,
  lostResponseRate: 0.02,
  slowRate: 0.01,
}
const processorNames = ['acquirer-rest', 'network-a', 'network-b'] as const

export async function runMoneySimulation(options: MoneyOptions): Promise<MoneyReport> {
  // Synchronous hashing: ids derive from SHA-256, and WebCrypto's thread pool would let its
  // answers arrive in between the model's timers, in an order no seed decides.
  setCryptoProvider(nodeCryptoProvider)
  const protocol = options.protocol ?? 'derived-ids'
  const rng = new Rng(options.seed)
  const scheduler = new Scheduler()
  const t = new Telemetry(() => scheduler.nowMs, options.trace ?? false)
  const stats = t.stats
  const logged: string[] = []
  const problems: string[] = []
  const failed = (where: string, error: unknown) => {
    t.count(`${where}Errors`)
    const text = `${where}: ${error instanceof Error ? error.message : String(error)}`
    if (where === 'applier') problems.push(`[4 converge] the applier is stuck: ${text}`)
    if (logged.length < 5 && !logged.includes(text)) logged.push(text)
  }
  const made: Made[] = []
  const processors = processorNames.map((n) => new ModelProcessor(n, scheduler, rng, faults, t))
  // The real routing order (ProcessorSet.routeFor), over the model's processors.
  const routing = new ProcessorSet(
    Object.fromEntries(processorNames.map((n) => [n, 'http://model'])),
  )
  const routeFor = (id: string) => routing.routeFor(id).map((p) => p.adapter.name)
  const reconciler: ReconcilerTimes = {
    intervalMs: 1000,
    stuckAfterMs: 3000,
    unsentFailAfterMs: 20_000,
    authorizationTtlMs: 20_000 + rng.int(60_000),
  }
  const ids = fleet.regions.map((r) => r.id)
  const regions = new Map<string, ModelRegion>()
  // Upstash's SET NX GET: write-once, one answer for everyone (its own faults are not modelled).
  const agreed = new Map<string, string>()
  const register = {
    agree: async (subject: string, value: string) => {
      const held = agreed.get(subject)
      if (held !== undefined) return held
      agreed.set(subject, value)
      t.count('registerAgreements')
      return value
    },
  }
  const replication = new Replication(
    ids,
    scheduler,
    rng,
    (to, e) => regions.get(to)?.deliver(e),
    t,
  )
  for (const id of ids)
    regions.set(
      id,
      new ModelRegion({
        id,
        scheduler,
        rng,
        protocol,
        compensation: protocol === 'derived-ids',
        skewMs: rng.int(61) - 30,
        processors,
        routeFor,
        register,
        reconciler,
        ship: (e) => replication.ship(e),
        made: (m) => made.push(m),
        t,
        failed,
      }),
    )
  for (const r of regions.values()) r.start()

  const outside = new Host('outside', scheduler)
  const edge = new Edge(scheduler, rng, outside, regions, protocol, options.seed, t)
  const merchants = new Merchants(rng, outside, edge, t)
  let open = 0
  for (const m of sampleMerchants)
    for (let i = 0; i < (options.stories ?? 8); i++) {
      open++
      void merchants.story(m.merchantId, rng.int(trafficMs)).finally(() => open--)
    }
  const injector = new Faults(scheduler, rng, regions, replication, processors, t)
  for (let i = 0; i < (options.faults ?? 1 + rng.int(5)); i++)
    scheduler.after(rng.int(trafficMs), () => injector.inject())

  // Traffic until every merchant is done (each story ends: answered or given up).
  while (open > 0) await scheduler.runUntil(scheduler.nowMs + 1000)
  const healedAtMs = scheduler.nowMs
  injector.healAll()
  let writes = -1
  for (;;) {
    await scheduler.runUntil(scheduler.nowMs + quietCheckMs)
    const now = [...regions.values()].reduce((s, r) => s + r.store.writes, 0)
    // Quiet: nothing written for a while (several reconciler passes), nothing in flight, and
    // nothing pending anywhere (a pending payment is retried until it settles or time runs out).
    const quiet =
      now === writes && replication.idle && [...regions.values()].every((r) => r.idle && r.settled)
    writes = now
    if (quiet) break
    if (scheduler.nowMs - healedAtMs > settleMsMax) {
      problems.push(
        `[6 final] still changing 5 minutes after the regions healed (${[...regions.values()].map((r) => `${r.store.region} busy ${r.busy} outbox ${r.store.outbox.length} inbound ${r.inbound.length} writes ${r.store.writes}`).join('; ')}; replication idle ${replication.idle})`,
      )
      break
    }
  }
  stats.settleMs = scheduler.nowMs - healedAtMs
  stats.timers = scheduler.fired

  const world = {
    regions: [...regions.values()],
    processors,
    acknowledged: merchants.acknowledged,
    made,
  }
  problems.push(...checkInvariants(world))
  summarize(world, stats)
  return {
    seed: options.seed,
    protocol,
    ok: problems.length === 0,
    problems,
    logged,
    digest: world.regions[0]?.store.digest(),
    stats,
    ...(t.lines ? { trace: t.lines } : {}),
  }
}

/** Faults a region, link or processor can suffer, each healing on its own (or at healAll). */
class Faults {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: Rng,
    private readonly regions: ReadonlyMap<string, ModelRegion>,
    private readonly replication: Replication,
    private readonly processors: readonly ModelProcessor[],
    private readonly t: Telemetry,
  ) {}

  private duration(minMs: number, maxMs: number): number {
    return minMs + this.rng.int(maxMs - minMs)
  }

  inject(): void {
    const ids = [...this.regions.keys()]
    const region = this.rng.pick(ids)
    const r = this.regions.get(region)
    if (!r) return
    const roll = this.rng.next()
    if (roll < 0.4) {
      // A hang (SIGSTOP): the API alone; or with its outbound replication lagging; or all of it;
      // now, or right after the API's next commit, before it answers (the client never hears).
      const forMs = this.duration(1500, 8000)
      const mode = this.rng.pick(['api', 'api+links', 'region'] as const)
      const hang = () => {
        this.t.count(`hangs_${mode}`)
        this.t.trace(() => `FAULT ${region} hangs (${mode}) for ${forMs} ms`)
        r.apiHost.hang()
        if (mode === 'region') r.back.hang()
        if (mode === 'api+links')
          for (const to of ids) if (to !== region) this.replication.pause(region, to, forMs)
        this.scheduler.after(forMs, () => {
          r.apiHost.resume()
          r.back.resume()
        })
      }
      if (this.rng.chance(0.5)) hang()
      else
        r.hangAfterCommit = () => {
          this.t.count('hangsAfterCommit')
          hang()
        }
    } else if (roll < 0.5) {
      if (r.apiHost.state === 'down') return
      this.t.count('crashes')
      this.t.trace(() => `FAULT ${region} crashes`)
      r.crash()
      this.scheduler.after(this.duration(1000, 6000), () => this.restart(r))
    } else if (roll < 0.7) {
      const other = this.rng.pick(ids.filter((i) => i !== region))
      const forMs = this.duration(2000, 12_000)
      this.t.count('partitions')
      this.t.trace(() => `FAULT ${region} and ${other} partitioned for ${forMs} ms`)
      this.replication.pause(region, other, forMs)
      this.replication.pause(other, region, forMs)
    } else if (roll < 0.85) {
      const other = this.rng.pick(ids.filter((i) => i !== region))
      this.t.count('linkStalls')
      const forMs = this.duration(1000, 10_000)
      this.t.trace(() => `FAULT link ${region}>${other} stalls for ${forMs} ms`)
      this.replication.pause(region, other, forMs)
    } else {
      const p = this.rng.pick(this.processors)
      this.t.count('processorOutages')
      this.t.trace(() => `FAULT ${p.name} outage`)
      p.outageUntilMs = Math.max(p.outageUntilMs, this.scheduler.nowMs + this.duration(1000, 6000))
    }
  }

  private restart(r: ModelRegion): void {
    if (r.apiHost.state !== 'down') return
    this.t.trace(() => `${r.store.region} restarts`)
    r.restart()
  }

  healAll(): void {
    this.t.trace(() => 'HEAL everything')
    for (const r of this.regions.values()) {
      r.apiHost.resume()
      r.back.resume()
      this.restart(r)
    }
    this.replication.healAll()
    for (const p of this.processors) p.outageUntilMs = 0
    for (const r of this.regions.values()) r.hangAfterCommit = undefined
  }
}

/** Figures a reader checks to see the run really exercised the protocol. */
function summarize(w: Parameters<typeof checkInvariants>[0], stats: Record<string, number>) {
  const first = w.regions[0]?.store
  stats.payments = first?.payments.size ?? 0
  stats.operations = first?.operations.size ?? 0
  stats.refunds = first?.refunds.size ?? 0
  stats.acknowledged = w.acknowledged.length
  const servedBy = new Map<string, Set<string>>()
  for (const m of w.made) {
    const k = `${m.merchantId}/${m.key}`
    servedBy.set(k, (servedBy.get(k) ?? new Set()).add(m.region))
  }
  // Retries across regions: one request's object made by two regions, or replayed by a region
  // that did not make it (its record had replicated there).
  stats.keysMadeInTwoRegions = [...servedBy.values()].filter((s) => s.size > 1).length
  stats.replays = w.acknowledged.filter((a) => a.replayed).length
  stats.replaysInAnotherRegion = w.acknowledged.filter(
    (a) => a.replayed && !servedBy.get(`${a.merchantId}/${a.key}`)?.has(a.region),
  ).length
  const byKey = new Map<string, Set<string>>()
  for (const m of w.made.filter((x) => x.kind === 'payment')) {
    const k = `${m.merchantId}/${m.key}`
    byKey.set(k, (byKey.get(k) ?? new Set()).add(m.id))
  }
  stats.keysWithTwoPayments = [...byKey.values()].filter((s) => s.size > 1).length
  for (const p of w.processors) {
    stats.processorRequests = (stats.processorRequests ?? 0) + p.counts.requests
    stats.processor503s = (stats.processor503s ?? 0) + p.counts.unavailable
    stats.processorLost = (stats.processorLost ?? 0) + p.counts.lost + p.counts.slow
    stats.processorReplays = (stats.processorReplays ?? 0) + p.counts.replays
    stats.processorKeyRefusals = (stats.processorKeyRefusals ?? 0) + p.counts.refusals
  }
  stats.replicationConflicts = first?.conflicts.size ?? 0
}
