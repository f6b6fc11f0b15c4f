import { sampleMerchants, samplePlacement } from '@meridian/core'
import { stateDigest } from '@meridian/replication'
import type pg from 'pg'
import { type Crash, serviceCrashes } from '../processes.ts'
import {
  authorizationsByPayment,
  type CheckResult,
  check,
  settledStatuses,
  unfinishedOperations,
} from './checker.ts'
import { homesAt, type MoveRecord, type PlanRun } from './evacuate.ts'
import { type Acknowledged, LoadGenerator, type Order } from './load.ts'
import {
  type DrillContext,
  detectionFor,
  type ScenarioName,
  type ScenarioTarget,
  scenarios,
} from './scenarios.ts'
import {
  buckets,
  type FailureKind,
  failureKinds,
  firstAnomalyMs,
  type IsHome,
  recoveryMs,
  summarize,
  window,
} from './series.ts'
import { judge, type Limits, type Verdict } from './thresholds.ts'
import type { DrillTopology } from './topology.ts'

export interface DrillOptions {
  readonly scenario: ScenarioName
  readonly target: ScenarioTarget
  readonly ratePerSec: number
  /** Load before the fault: the baseline. */
  readonly warmupSec: number
  /** How long the fault is held. */
  readonly holdSec: number
  /** Load after the heal, to watch recovery and failback. */
  readonly recoverySec: number
  readonly seed: number
  readonly limits: Limits
  readonly log: (line: string) => void
  /** Break the build on purpose (stop replication) to prove the checker fails. */
  readonly sabotage?: 'no-replication'
}

export interface DrillResult {
  readonly scenario: ScenarioName
  readonly description: string
  readonly runId: string
  readonly startedAt: string
  readonly options: {
    readonly ratePerSec: number
    readonly warmupSec: number
    readonly holdSec: number
    readonly recoverySec: number
    readonly seed: number
    readonly target: ScenarioTarget
    readonly sabotage: string | null
  }
  readonly timeline: {
    readonly faultAtSec: number
    readonly healAtSec: number
    /** When the heal action finished (a broker or a process restarted and ready). */
    readonly healedAtSec: number
    readonly loadEndSec: number
    /** Load stopped → every region holds every acknowledged payment, settled, same digests. */
    readonly quiescedAfterLoadSec: number | null
  }
  readonly detection: { readonly ms: number | null; readonly by: string }
  readonly rtoMs: number | null
  readonly baseline: ReturnType<typeof summarize>
  readonly duringFault: ReturnType<typeof summarize>
  readonly afterHeal: ReturnType<typeof summarize>
  /** What the merchants got when an attempt failed, over the whole run. */
  readonly errors: readonly FailureKind[]
  readonly rpo: {
    readonly exposedRegions: readonly string[]
    /** Acknowledged payments that had not reached every other region when the fault hit. */
    readonly unreplicatedAtFault: number
    /** Age of the oldest of them: the window of acknowledged writes at risk. */
    readonly windowMs: number
    /** All of them present in every region after heal and convergence. */
    readonly recovered: boolean
  }
  readonly convergenceMs: number | null
  readonly load: {
    readonly orders: number
    readonly acknowledged: number
    readonly rejected: number
    readonly gaveUp: number
    readonly attempts: number
    readonly skipped: number
    readonly failovers: number
  }
  readonly checker: CheckResult
  /**
   * evacuate: the evacuation and the restore, each move timed, with what the moved merchants'
   * attempts saw while the plan ran (empty for the other scenarios).
   */
  readonly plans: readonly (PlanRun & { readonly movedMerchants: ReturnType<typeof summarize> })[]
  /** Services that exited on their own during the drill. */
  readonly crashes: readonly (Crash & { readonly atSec: number })[]
  readonly limits: Limits
  readonly verdict: Verdict
  readonly series: ReturnType<typeof buckets>
}

const pollMs = 250
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One drill: steady load, fault, hold, heal, recovery, convergence, then the check. */
export async function runDrill(
  topology: DrillTopology,
  options: DrillOptions,
): Promise<DrillResult> {
  const { log, target } = options
  const scenario = scenarios[options.scenario]
  const runId = `${options.scenario}-${Date.now().toString(36)}`
  const startedAt = new Date().toISOString()
  if (options.sabotage === 'no-replication') {
    log('SABOTAGE: stopping every replication process — this run must FAIL')
    await topology.stopReplication()
  }

  const crashesBefore = serviceCrashes().length
  const load = new LoadGenerator({
    edgeUrl: topology.edgeUrl,
    keys: topology.keys,
    ratePerSec: options.ratePerSec,
    seed: options.seed,
    runId,
    ...(scenario.clientTimeoutMs
      ? {
          impatient: {
            merchants: sampleMerchants
              .filter((m) => m.home === target.region)
              .map((m) => m.merchantId),
            timeoutMs: scenario.clientTimeoutMs,
          },
        }
      : {}),
  })
  const ctx: DrillContext = { runId, log, plans: [], acknowledged: load.acknowledged }
  const isHome = homeResolver(load.orders, () => ctx.plans.flatMap((p) => p.moves))
  const loadStart = Date.now()
  load.start()
  log(
    `${options.scenario}: load ${options.ratePerSec}/s through ${topology.edgeUrl}; baseline ${options.warmupSec} s`,
  )
  const prepared = scenario.prepare?.(topology, target, ctx)
  await sleep(options.warmupSec * 1000)
  await prepared

  const exposed = scenario.exposed(target)
  const atRisk = await unreplicated(topology, load.acknowledged, exposed)
  const faultMs = Date.now()
  await scenario.inject(topology, target, ctx)
  log(
    `${options.scenario}: FAULT — ${scenario.describe(target)} (${atRisk.ids.length} acknowledged payments not yet everywhere)`,
  )
  const signal = detectionFor(scenario, target, topology)
  const watch = watchSignal(topology, signal, faultMs)
  await sleep(options.holdSec * 1000)
  const healMs = Date.now()
  await scenario.heal(topology, target, ctx)
  const healedMs = Date.now()
  log(
    `${options.scenario}: HEAL after ${((healMs - faultMs) / 1000).toFixed(1)} s of fault (healing took ${((healedMs - healMs) / 1000).toFixed(1)} s); recovery ${options.recoverySec} s`,
  )
  const backlog = watchBacklog(topology, runId, [...load.acknowledged], healedMs)
  await sleep(options.recoverySec * 1000)
  watch.stop()
  const loadEndMs = Date.now()
  await load.stop()
  if (ctx.ops) {
    await ctx.ops.settle()
    const by = (phase: string) => {
      const mine = ctx.ops?.records.filter((o) => o.phase === phase) ?? []
      const acked = mine.filter((o) => o.status >= 200 && o.status < 300)
      const regions = [...new Set(acked.map((o) => o.region))].join('/')
      return `${acked.length}/${mine.length} acknowledged (${regions || 'none'})`
    }
    log(
      `${options.scenario}: operations before the hang ${by('before')}, during it ${by('during')}`,
    )
  }
  log(
    `${options.scenario}: load stopped; ${load.acknowledged.length} payments acknowledged, waiting for convergence`,
  )

  const quiescedAt = await waitForConvergence(
    topology,
    runId,
    load.acknowledged,
    options.limits.convergenceSecMax * 1000,
  )
  const drainedAt = await backlog.stop(quiescedAt !== undefined)
  // Convergence: heal done → every payment acknowledged until then is in every region, settled.
  const convergenceMs =
    quiescedAt === undefined || drainedAt === undefined
      ? undefined
      : Math.max(0, drainedAt - healedMs)
  const checker = await check({
    pools: topology.pools,
    simulators: topology.simulatorUrls,
    runId,
    orders: load.orders,
    acknowledged: load.acknowledged,
    ...(ctx.ops && ctx.opsMerchant
      ? { operations: { merchantId: ctx.opsMerchant, records: ctx.ops.records } }
      : {}),
  })

  const attempts = load.attempts
  const baseline = summarize(window(attempts, loadStart, faultMs))
  const duringFault = summarize(window(attempts, faultMs, healMs))
  const detection =
    signal.kind === 'planned'
      ? {
          ms: null,
          by: `not applicable: the fault is a planned ${signal.action} by an operator, not a failure to notice`,
        }
      : earliestDetection(firstAnomalyMs(attempts, faultMs, baseline.p99Ms, isHome), watch)
  const rtoMs = recoveryMs(attempts, faultMs, loadEndMs)
  const recovered = await presentEverywhere(topology, atRisk.ids)
  const crashes = serviceCrashes().slice(crashesBefore)
  const measured = {
    counts: checker.counts,
    crashes: crashes.length,
    rtoMs,
    convergenceMs,
    errorRateDuringFault: duringFault.errorRate,
  }
  // A move that did not complete fails the drill whatever the figures say: the fault was not thrown
  // (or not healed) as planned.
  const moveFailures = ctx.plans.flatMap((p) => p.failures)
  const judged = judge(measured, options.limits)
  const verdict = {
    pass: judged.pass && moveFailures.length === 0,
    failures: [...judged.failures, ...moveFailures],
  }
  const orders = [...load.orders.values()]
  const merchantOf = (key: string) => load.orders.get(key)?.merchantId
  return {
    scenario: options.scenario,
    description: scenario.describe(target),
    runId,
    startedAt,
    options: {
      ratePerSec: options.ratePerSec,
      warmupSec: options.warmupSec,
      holdSec: options.holdSec,
      recoverySec: options.recoverySec,
      seed: options.seed,
      target,
      sabotage: options.sabotage ?? null,
    },
    timeline: {
      faultAtSec: (faultMs - loadStart) / 1000,
      healAtSec: (healMs - loadStart) / 1000,
      healedAtSec: (healedMs - loadStart) / 1000,
      quiescedAfterLoadSec:
        quiescedAt === undefined ? null : Math.max(0, quiescedAt - loadEndMs) / 1000,
      loadEndSec: (loadEndMs - loadStart) / 1000,
    },
    detection,
    rtoMs: rtoMs === undefined ? null : Math.round(rtoMs),
    baseline,
    duringFault,
    afterHeal: summarize(window(attempts, healMs, loadEndMs)),
    errors: failureKinds(attempts, loadStart),
    rpo: {
      exposedRegions: exposed,
      unreplicatedAtFault: atRisk.ids.length,
      windowMs: atRisk.windowMs,
      recovered,
    },
    convergenceMs: convergenceMs === undefined ? null : Math.round(convergenceMs),
    load: {
      orders: orders.length,
      acknowledged: load.acknowledged.length,
      rejected: orders.filter((o) => o.outcome === 'rejected').length,
      gaveUp: orders.filter((o) => o.outcome === 'gave_up').length,
      attempts: attempts.length,
      skipped: load.skipped,
      failovers: load.acknowledged.filter((a) => !isHome(a.key, a.region, a.ackedAtMs)).length,
    },
    checker,
    plans: ctx.plans.map((p) => {
      const moved = new Set(p.moves.map((m) => m.merchantId))
      const theirs = window(attempts, p.startedMs, p.finishedMs).filter((a) =>
        moved.has(merchantOf(a.key) ?? ''),
      )
      return { ...p, movedMerchants: summarize(theirs) }
    }),
    crashes: crashes.map((c) => ({ ...c, atSec: (c.atMs - loadStart) / 1000 })),
    limits: options.limits,
    verdict,
    series: buckets(attempts, loadStart, loadEndMs),
  }
}

/**
 * Load the fresh topology before the first drill and throw the figures away: the first seconds of
 * every process (JIT, pools, Kafka metadata, consumer-group joins) would otherwise be the baseline.
 */
export async function primeTopology(
  topology: DrillTopology,
  options: { readonly ratePerSec: number; readonly seconds: number; readonly seed: number },
): Promise<{ acknowledged: number; attempts: number }> {
  const load = new LoadGenerator({
    edgeUrl: topology.edgeUrl,
    keys: topology.keys,
    ratePerSec: options.ratePerSec,
    seed: options.seed,
    runId: `prime-${Date.now().toString(36)}`,
  })
  load.start()
  await sleep(options.seconds * 1000)
  await load.stop()
  return { acknowledged: load.acknowledged.length, attempts: load.attempts.length }
}

/**
 * Whether a region was the paying merchant's home when it answered: the sample home the gateway
 * onboarded it with, changed by the planned moves made during the run (evacuate). An answer from
 * the region a merchant was moved to is the home answering, not a failover; while a move runs
 * both ends count (see homesAt). The merchant comes from the load's own order for the key.
 */
function homeResolver(
  orders: ReadonlyMap<string, Order>,
  moves: () => readonly MoveRecord[],
): IsHome {
  return (key, region, atMs) => {
    const merchantId = orders.get(key)?.merchantId
    if (merchantId === undefined) throw new Error(`no order for the key ${key}`)
    return homesAt(samplePlacement(merchantId).home, moves(), merchantId, atMs).includes(region)
  }
}

/** The first of the merchants' and the system's signs after the fault. */
function earliestDetection(
  clientMs: number | undefined,
  watch: { readonly detectedMs: number | undefined; readonly describe: string },
): DrillResult['detection'] {
  const first = [
    ...(clientMs === undefined
      ? []
      : [{ ms: clientMs, by: 'merchants (error, failover or 2× baseline p99)' }]),
    ...(watch.detectedMs === undefined ? [] : [{ ms: watch.detectedMs, by: watch.describe }]),
  ].sort((a, b) => a.ms - b.ms)[0]
  return first ? { ms: Math.round(first.ms), by: first.by } : { ms: null, by: 'not detected' }
}

/** Acknowledged payments from `regions` that some other region does not hold yet. */
async function unreplicated(
  topology: DrillTopology,
  acknowledged: readonly Acknowledged[],
  regions: readonly string[],
) {
  const candidates = acknowledged.filter((a) => regions.includes(a.region))
  const missing = new Set<string>()
  for (const r of topology.regionIds) {
    const mine = candidates.filter((a) => a.region !== r)
    if (mine.length === 0) continue
    const { rows } = await (topology.pools[r] as pg.Pool).query<{ id: string }>(
      'select id from payments where id = any($1)',
      [mine.map((a) => a.paymentId)],
    )
    const present = new Set(rows.map((x) => x.id))
    for (const a of mine) if (!present.has(a.paymentId)) missing.add(a.paymentId)
  }
  const ages = candidates
    .filter((a) => missing.has(a.paymentId))
    .map((a) => Date.now() - a.ackedAtMs)
  return { ids: [...missing], windowMs: Math.round(Math.max(0, ...ages)) }
}

async function presentEverywhere(
  topology: DrillTopology,
  ids: readonly string[],
): Promise<boolean> {
  for (const r of topology.regionIds) {
    const { rows } = await (topology.pools[r] as pg.Pool).query<{ n: number }>(
      'select count(*)::int as n from payments where id = any($1)',
      [ids],
    )
    if ((rows[0]?.n ?? 0) !== ids.length) return false
  }
  return true
}

/** Poll the scenario's system-side signal until it fires or the watch is stopped. */
function watchSignal(
  topology: DrillTopology,
  signal: ReturnType<typeof detectionFor>,
  faultMs: number,
) {
  let stopped = false
  const state: { detectedMs: number | undefined; describe: string } = {
    detectedMs: undefined,
    describe: 'not applicable',
  }
  const heartbeatAgeMsMax = 2_000
  const loop = async () => {
    // Merchants' signs are read from the attempts afterwards; a planned action has none to watch.
    if (signal.kind === 'client' || signal.kind === 'planned') return
    if (signal.kind === 'heartbeat')
      state.describe = `${signal.observers.join('/')} saw ${signal.origins.join('/')} heartbeats stop (> ${heartbeatAgeMsMax} ms)`
    let baselineFallback: number | undefined
    if (signal.kind === 'processor-fallback') {
      state.describe = `payments routed past ${signal.failing} to the next processor`
      baselineFallback = await fallbackCount(topology, signal.failing)
    }
    while (!stopped && state.detectedMs === undefined) {
      try {
        if (signal.kind === 'heartbeat') {
          for (const observer of signal.observers) {
            const status = (await (
              await fetch(topology.replicationStatusUrl(observer))
            ).json()) as {
              links: { origin: string; heartbeatAgeMs: number | null }[]
            }
            const stale = status.links.some(
              (l) =>
                signal.origins.includes(l.origin) &&
                l.origin !== observer &&
                (l.heartbeatAgeMs ?? 0) > heartbeatAgeMsMax,
            )
            if (stale) state.detectedMs = Date.now() - faultMs
          }
        } else if ((await fallbackCount(topology, signal.failing)) > (baselineFallback ?? 0)) {
          state.detectedMs = Date.now() - faultMs
        }
      } catch {
        // A status endpoint of the faulted region may be down; keep watching the others.
      }
      await sleep(pollMs)
    }
  }
  const running = loop()
  return {
    get detectedMs() {
      return state.detectedMs
    },
    get describe() {
      return state.describe
    },
    stop() {
      stopped = true
      void running
    },
  }
}

async function fallbackCount(topology: DrillTopology, failing: string): Promise<number> {
  const others = Object.entries(topology.simulatorUrls)
    .filter(([name]) => name !== failing)
    .map(([, url]) => url)
  const auths = await authorizationsByPayment(others)
  return [...auths.values()].reduce((s, n) => s + n, 0)
}

/**
 * Polls, from the end of the heal, until every payment acknowledged by then is present and settled
 * in every region: the fault's backlog drained. `stop(true)` takes "now" when it has not happened
 * yet but the final convergence just proved it (the poll may simply not have come round).
 */
function watchBacklog(
  topology: DrillTopology,
  runId: string,
  acknowledged: readonly Acknowledged[],
  healedMs: number,
) {
  const ids = acknowledged.filter((a) => a.ackedAtMs <= healedMs).map((a) => a.paymentId)
  let drainedAt: number | undefined
  let stopped = false
  const loop = (async () => {
    while (!stopped && drainedAt === undefined) {
      try {
        if (await settledEverywhere(topology, runId, ids)) drainedAt = Date.now()
      } catch {
        // A region's database may still be coming back.
      }
      if (drainedAt === undefined) await sleep(pollMs)
    }
  })()
  return {
    async stop(convergedNow: boolean): Promise<number | undefined> {
      stopped = true
      await loop
      return drainedAt ?? (convergedNow ? Date.now() : undefined)
    },
  }
}

async function settledEverywhere(
  topology: DrillTopology,
  runId: string,
  ids: readonly string[],
): Promise<boolean> {
  for (const r of topology.regionIds) {
    const { rows } = await (topology.pools[r] as pg.Pool).query<{ n: number }>(
      `select count(*)::int as n from payments
        where id = any($1) and metadata->>'drill_run' = $2 and status = any($3) and pending_operation is null`,
      [ids, runId, settledStatuses],
    )
    if ((rows[0]?.n ?? 0) < ids.length) return false
  }
  return true
}

/**
 * Converged: every region holds every acknowledged payment, settled, and the state digests agree.
 * Returns when that first held, or undefined after `timeoutMs`.
 */
async function waitForConvergence(
  topology: DrillTopology,
  runId: string,
  acknowledged: readonly Acknowledged[],
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs
  const ids = acknowledged.map((a) => a.paymentId)
  while (Date.now() < deadline) {
    try {
      if (
        (await settledEverywhere(topology, runId, ids)) &&
        (await operationsFinalEverywhere(topology, runId))
      ) {
        const digests = new Set<string>()
        for (const r of topology.regionIds)
          digests.add((await stateDigest(topology.pools[r] as pg.Pool)).digest)
        if (digests.size === 1) return Date.now()
      }
    } catch {
      // A region's database may still be coming back.
    }
    await sleep(500)
  }
  return undefined
}

/** No refund, capture or cancel of the run's payments still pending in any region. */
async function operationsFinalEverywhere(topology: DrillTopology, runId: string) {
  for (const r of topology.regionIds)
    if ((await unfinishedOperations(topology.pools[r] as pg.Pool, runId)).length > 0) return false
  return true
}
