import { sampleMerchants } from '@meridian/core'
import { moveTimeoutMs, type PlanRun, runRegionPlan } from './evacuate.ts'
import type { Acknowledged } from './load.ts'
import { SplitBrainOps } from './ops.ts'
import type { DrillTopology } from './topology.ts'

export const scenarioNames = [
  'region-down',
  'region-hang',
  'split-brain-ops',
  'kafka-down',
  'postgres-down',
  'partition',
  'slow-region',
  'processor-outage',
  // Last: it moves merchants, and a failed restore would leave the ones after it with other homes.
  'evacuate',
] as const
export type ScenarioName = (typeof scenarioNames)[number]

export interface ScenarioTarget {
  readonly region: string
  /** The other side of a partition. */
  readonly peer: string
  /** slow-region's added one-way delay. */
  readonly latencyMs: number
  /** processor-outage's failing simulator. */
  readonly processor: string
}

/** How the drill notices the fault besides the merchants' own view (errors, failovers, latency). */
export type DetectionSignal =
  | { readonly kind: 'client' }
  /** Another region's replication sees this region's heartbeats stop. */
  | {
      readonly kind: 'heartbeat'
      readonly origins: readonly string[]
      readonly observers: readonly string[]
    }
  /** Payments start going to the processors after the failing one. */
  | { readonly kind: 'processor-fallback'; readonly failing: string }
  /** An operator's planned action (evacuate): nothing to detect, detection is not applicable. */
  | { readonly kind: 'planned'; readonly action: string }

/** What a scenario keeps between its steps, and hands to the checker. */
export interface DrillContext {
  readonly runId: string
  /** The drill's log: progress lines of a scenario's own steps (a move's phases). */
  readonly log: (line: string) => void
  /** The load's acknowledged payments so far (the list grows as the run goes on). */
  readonly acknowledged: readonly Acknowledged[]
  /** split-brain-ops: the operations it sent, and to whom. */
  ops?: SplitBrainOps
  opsMerchant?: string
  /** evacuate: the evacuation and the restore, with every move they made (empty otherwise). */
  readonly plans: PlanRun[]
}

export interface Scenario {
  readonly name: ScenarioName
  /** What is done, in one line, for the report. */
  describe(t: ScenarioTarget): string
  /** Regions whose acknowledged payments are exposed while the fault lasts (RPO). */
  exposed(t: ScenarioTarget): readonly string[]
  detection(t: ScenarioTarget): DetectionSignal
  /**
   * How long the merchants homed in the target region wait for an answer before retrying (the
   * others: the load's own). One that gives up sooner than the edge waits on a region retries
   * with a new request.
   */
  readonly clientTimeoutMs?: number
  /** Set-up during the baseline, before the fault (payments to operate on). */
  prepare?(topology: DrillTopology, t: ScenarioTarget, ctx: DrillContext): Promise<void>
  inject(topology: DrillTopology, t: ScenarioTarget, ctx: DrillContext): Promise<void>
  heal(topology: DrillTopology, t: ScenarioTarget, ctx: DrillContext): Promise<void>
}

/** While a hung region's answers are held, requests still reach it and commit: this long. */
export const hangCommitWindowMs = 600

/** Every link that copies `region`'s events into another region, paused or resumed. */
async function outboundLinks(topology: DrillTopology, region: string, up: boolean) {
  await Promise.all(others(topology, region).map((dest) => topology.setLink(dest, region, up)))
}

/** The region's API hangs: answers held, then the process stopped (or both undone). */
async function hangApi(topology: DrillTopology, region: string, hung: boolean) {
  if (hung) {
    topology.holdResponses(region, true)
    await new Promise((r) => setTimeout(r, hangCommitWindowMs))
    topology.hangRole(region, 'api', true)
  } else {
    topology.hangRole(region, 'api', false)
    topology.holdResponses(region, false)
  }
}

const others = (topology: DrillTopology, region: string) =>
  topology.regionIds.filter((r) => r !== region)

export const scenarios: Readonly<Record<ScenarioName, Scenario>> = {
  'region-down': {
    name: 'region-down',
    describe: (t) => `SIGKILL ${t.region}'s API and workers processes; heal: start them again`,
    exposed: (t) => [t.region],
    detection: () => ({ kind: 'client' }),
    inject: async (topology, t) => {
      await Promise.all([
        topology.killRole(t.region, 'api'),
        topology.killRole(t.region, 'workers'),
      ])
    },
    heal: async (topology, t) => {
      await Promise.all([
        topology.startRole(t.region, 'api'),
        topology.startRole(t.region, 'workers'),
      ])
    },
  },
  'region-hang': {
    name: 'region-hang',
    describe: (t) =>
      `${t.region}'s API hangs: its answers are held (requests still reach it and commit for ${hangCommitWindowMs} ms), then the process is SIGSTOPped; its outbound replication is paused; its merchants time out after 1 s (before the edge's 1.5 s) and retry with the same key; heal: SIGCONT, answers and links released`,
    exposed: (t) => [t.region],
    detection: () => ({ kind: 'client' }),
    clientTimeoutMs: 1_000,
    inject: async (topology, t) => {
      await outboundLinks(topology, t.region, false)
      await hangApi(topology, t.region, true)
    },
    heal: async (topology, t) => {
      await hangApi(topology, t.region, false)
      await outboundLinks(topology, t.region, true)
    },
  },
  'split-brain-ops': {
    name: 'split-brain-ops',
    describe: (t) =>
      `captures, cancels and refunds of the same payments decided by two regions: ${t.region}'s outbound replication paused and its workers and reconciler SIGSTOPped, one operation per payment accepted by ${t.region}; then its API hangs (answers held, SIGSTOP) and a conflicting operation (new key) or a retry (same key) per payment goes through the edge to the next region; heal: SIGCONT, links released`,
    exposed: (t) => [t.region],
    detection: () => ({ kind: 'client' }),
    prepare: async (topology, t, ctx) => {
      const merchant = sampleMerchants.find((m) => m.home === t.region)?.merchantId
      const key = merchant ? topology.keys[merchant] : undefined
      if (!merchant || !key) throw new Error(`split-brain-ops: no merchant homed in ${t.region}`)
      ctx.opsMerchant = merchant
      ctx.ops = new SplitBrainOps(topology.edgeUrl, key, ctx.runId)
      await ctx.ops.prepare(Object.values(topology.pools))
    },
    inject: async (topology, t, ctx) => {
      const ops = ctx.ops
      if (!ops) throw new Error('split-brain-ops: not prepared')
      await outboundLinks(topology, t.region, false)
      topology.hangRole(t.region, 'workers', true)
      topology.hangRole(t.region, 'webhooks+reconciler', true)
      await ops.before()
      await hangApi(topology, t.region, true)
      ops.startDuring()
    },
    heal: async (topology, t) => {
      await hangApi(topology, t.region, false)
      topology.hangRole(t.region, 'workers', false)
      topology.hangRole(t.region, 'webhooks+reconciler', false)
      await outboundLinks(topology, t.region, true)
    },
  },
  'kafka-down': {
    name: 'kafka-down',
    describe: (t) =>
      `SIGKILL ${t.region}'s Kafka broker (the whole cluster); heal: start it on its data`,
    exposed: (t) => [t.region],
    detection: () => ({ kind: 'heartbeat', origins: [], observers: [] }),
    inject: (topology, t) => topology.broker(t.region).kill(),
    heal: (topology, t) => topology.broker(t.region).launch(),
  },
  'postgres-down': {
    name: 'postgres-down',
    describe: (t) =>
      `refuse every connection to ${t.region}'s database and drop the open ones; heal: allow them again`,
    exposed: (t) => [t.region],
    detection: () => ({ kind: 'client' }),
    inject: (topology, t) => topology.setDatabaseReachable(t.region, false),
    heal: (topology, t) => topology.setDatabaseReachable(t.region, true),
  },
  partition: {
    name: 'partition',
    describe: (t) =>
      `cut replication between ${t.region} and ${t.peer} both ways (other links stay up); heal: reconnect`,
    exposed: (t) => [t.region, t.peer],
    detection: (t) => ({
      kind: 'heartbeat',
      origins: [t.region, t.peer],
      observers: [t.peer, t.region],
    }),
    inject: async (topology, t) => {
      await topology.setLink(t.peer, t.region, false)
      await topology.setLink(t.region, t.peer, false)
    },
    heal: async (topology, t) => {
      await topology.setLink(t.peer, t.region, true)
      await topology.setLink(t.region, t.peer, true)
    },
  },
  'slow-region': {
    name: 'slow-region',
    describe: (t) =>
      `add ${t.latencyMs} ms each way between the edge and ${t.region}; heal: remove it`,
    exposed: () => [],
    detection: () => ({ kind: 'client' }),
    inject: async (topology, t) => topology.setLatencyMs(t.region, t.latencyMs),
    heal: async (topology, t) => topology.setLatencyMs(t.region, 0),
  },
  'processor-outage': {
    name: 'processor-outage',
    describe: (t) =>
      `${t.processor} answers 60% of requests with 503 and lets 40% time out; heal: healthy again`,
    exposed: () => [],
    detection: (t) => ({ kind: 'processor-fallback', failing: t.processor }),
    inject: (topology, t) =>
      topology.setSimFaults(t.processor, { errorRate: 0.6, timeoutRate: 0.4, hangMs: 3_000 }),
    heal: (topology, t) => topology.setSimFaults(t.processor, { errorRate: 0, timeoutRate: 0 }),
  },
  evacuate: {
    name: 'evacuate',
    describe: (t) =>
      `evacuate ${t.region} through the operator API as \`pnpm fleet evacuate ${t.region}\` does (every merchant homed there moved to its first failover region by a planned, fenced move, each bounded by ${moveTimeoutMs} ms); heal: \`pnpm fleet restore ${t.region}\``,
    // The old home's writes not yet replicated when the move starts: the drain must carry them over.
    exposed: (t) => [t.region],
    detection: () => ({ kind: 'planned', action: 'evacuation' }),
    inject: async (topology, t, ctx) => {
      ctx.plans.push(await runRegionPlan(topology, 'evacuate', t.region, ctx.acknowledged, ctx.log))
    },
    heal: async (topology, t, ctx) => {
      ctx.plans.push(await runRegionPlan(topology, 'restore', t.region, ctx.acknowledged, ctx.log))
    },
  },
}

/** Heartbeat detection for a region-wide fault: the other regions watch the faulted one. */
export function detectionFor(
  scenario: Scenario,
  t: ScenarioTarget,
  topology: DrillTopology,
): DetectionSignal {
  const signal = scenario.detection(t)
  if (signal.kind === 'heartbeat' && signal.origins.length === 0)
    return { kind: 'heartbeat', origins: [t.region], observers: others(topology, t.region) }
  return signal
}
