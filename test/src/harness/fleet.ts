import { topicsFor } from '@meridian/core'
import { quietLogger } from '@meridian/platform'
import { dialects, type RunningSimulator, simNames, startSimulator } from '@meridian/processor-sim'
import {
  type RunningReplication,
  type StateDigest,
  startReplication,
  stateDigest,
} from '@meridian/replication'
import { expect } from 'vitest'
import { eventually } from './eventually.ts'
import { brokerFor, type RegionName } from './kafka.ts'
import { uniqueName } from './names.ts'
import { type ProcessingRegion, startProcessingRegion, testSimFaults } from './processing.ts'

export const fleetRegions: readonly RegionName[] = ['us-east', 'eu-west', 'ap-south']
const partitions = 4

export interface Fleet {
  readonly regions: Readonly<Record<RegionName, ProcessingRegion>>
  readonly replication: Readonly<Record<RegionName, RunningReplication>>
  readonly sims: readonly RunningSimulator[]
  readonly namespace: string
  digest(region: RegionName): Promise<StateDigest>
  /** Wait until every region holds the same state digest; returns it. */
  converged(timeoutMs?: number): Promise<string>
  stop(): Promise<void>
}

/**
 * Three real regions (each its own schema and Kafka broker), every role on, sharing three
 * processor simulators, each with its replication (heartbeat, replicators, applier) in-process.
 * Topics carry a namespace so tests can share the suite's brokers.
 */
export interface FleetOptions {
  /** Run each region's replicators and applier as two services, as the cloud deploys them. */
  readonly splitReplication?: boolean
}

export async function startFleet(label: string, options: FleetOptions = {}): Promise<Fleet> {
  const namespace = `${uniqueName(label)}_`
  const sims = await Promise.all(
    simNames.map((name) => startSimulator(name, dialects[name], { faults: testSimFaults })),
  )
  const regions = {} as Record<RegionName, ProcessingRegion>
  const replication = {} as Record<RegionName, RunningReplication>
  for (const id of fleetRegions) {
    regions[id] = await startProcessingRegion(label, {
      region: id,
      sims,
      overrides: { eventsTopic: topicsFor(namespace).events, eventsPartitions: partitions },
    })
  }
  for (const id of fleetRegions) {
    const c = regions[id].config
    const config = {
      region: id,
      databaseUrl: c.databaseUrl,
      ...(c.databaseSchema ? { databaseSchema: c.databaseSchema } : {}),
      kafkaBrokers: [brokerFor(id)],
      peers: Object.fromEntries(
        fleetRegions.filter((r) => r !== id).map((r) => [r, [brokerFor(r)]]),
      ),
      topicNamespace: namespace,
      eventsPartitions: partitions,
      heartbeatIntervalMs: 250,
      // The drills' link switches, over HTTP (the applier's status server hosts them).
      control: true,
    }
    if (!options.splitReplication)
      replication[id] = await startReplication({ ...config, port: 0 }, quietLogger)
    else {
      const applier = await startReplication(
        { ...config, port: 0, roles: { replicator: false, applier: true } },
        quietLogger,
      )
      const replicators = await startReplication(
        { ...config, roles: { replicator: true, applier: false } },
        quietLogger,
      )
      replication[id] = {
        url: applier.url,
        get replicators() {
          return replicators.replicators
        },
        pauseLinks: () => replicators.pauseLinks(),
        pauseLink: (origin) => replicators.pauseLink(origin),
        resumeLink: (origin) => replicators.resumeLink(origin),
        resumeLinks: () => replicators.resumeLinks(),
        async stop() {
          await replicators.stop()
          await applier.stop()
        },
      }
    }
  }
  const digest = (id: RegionName) => stateDigest(regions[id].db.pool)
  return {
    regions,
    replication,
    sims,
    namespace,
    digest,
    async converged(timeoutMs = 60_000) {
      let last: string[] = []
      await eventually(async () => {
        const digests = await Promise.all(fleetRegions.map(digest))
        last = digests.map((d) => d.digest)
        expect(
          new Set(last).size,
          JSON.stringify(
            digests.map((d) => d.sections),
            null,
            1,
          ),
        ).toBe(1)
      }, timeoutMs)
      return last[0] ?? ''
    },
    async stop() {
      await Promise.all(fleetRegions.map((id) => replication[id]?.stop()))
      await Promise.all(fleetRegions.map((id) => regions[id]?.stop()))
      await Promise.all(sims.map((s) => s.close()))
    },
  }
}
