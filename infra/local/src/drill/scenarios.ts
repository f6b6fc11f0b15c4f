import type { DrillTopology } from './topology.ts'

export const scenarioNames = [
  'region-down',
  'kafka-down',
  'postgres-down',
  'partition',
  'slow-region',
  'processor-outage',
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

export interface Scenario {
  readonly name: ScenarioName
  /** What is done, in one line, for the report. */
  describe(t: ScenarioTarget): string
  /** Regions whose acknowledged payments are exposed while the fault lasts (RPO). */
  exposed(t: ScenarioTarget): readonly string[]
  detection(t: ScenarioTarget): DetectionSignal
  inject(topology: DrillTopology, t: ScenarioTarget): Promise<void>
  heal(topology: DrillTopology, t: ScenarioTarget): Promise<void>
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
