import type { EdgeSettingsInput } from '@meridian/core/edge-settings'
import { createPool, databaseUrl, withDatabase } from '@meridian/platform'
import type { RegionSettingsInput } from '@meridian/regions'
import type { ReplicationSettingsInput } from '@meridian/replication'
import type pg from 'pg'
import { setDatabaseReachable } from '../database-access.ts'
import type { Gateway } from '../gateway.ts'
import type { KafkaBroker } from '../kafka/broker.ts'
import type { RegionRole } from '../services.ts'
import { type LatencyProxy, startLatencyProxy } from './latency-proxy.ts'

/** The prefix of the drill's databases and Redis keys: apart from `pnpm start`'s. */
export const drillPrefix = 'drill'

/** Drills make timers short so a run fits in minutes: failback, reconciler, probes. */
export const drillEdgeSettings = {
  failbackHealthyMs: 3000,
  failbackRampMs: 3000,
  regionTimeoutMs: 1500,
  // The load is all test merchants; the edge's per-merchant limit must not be what we measure.
  rateLimitPerSec: 1000,
} as const satisfies EdgeSettingsInput

export const drillRegionSettings = {
  reconciler: { intervalMs: 1000, stuckAfterMs: 3000 },
  // Every drill payment uses one test card; tier-1 velocity would decline most of them.
  fraud: { cardPaymentsPerWindowMax: 1_000_000 },
} as const satisfies RegionSettingsInput

/** The drills cut replication links over HTTP (the applier's status server hosts the switches). */
export const drillReplicationSettings = {
  control: true,
} as const satisfies ReplicationSettingsInput

/** The local gateway plus the switches the scenarios throw. */
export class DrillTopology {
  readonly regionIds: readonly string[]
  readonly pools: Readonly<Record<string, pg.Pool>>
  private readonly admin: pg.Pool

  constructor(
    readonly gateway: Gateway,
    private readonly proxies: ReadonlyMap<string, LatencyProxy>,
  ) {
    this.regionIds = gateway.topology.regions.map((r) => r.id)
    // Small pools that tolerate their database going away (postgres-down) and coming back.
    this.pools = Object.fromEntries(
      gateway.topology.regions.map((r) => [
        r.id,
        createPool({ url: r.databaseUrl, poolSizeMax: 2 }),
      ]),
    )
    this.admin = createPool({ url: withDatabase(databaseUrl(), 'postgres'), poolSizeMax: 1 })
    for (const pool of [...Object.values(this.pools), this.admin]) pool.on('error', () => {})
  }

  get simulatorUrls(): Readonly<Record<string, string>> {
    return this.gateway.simulators.urls
  }

  get edgeUrl(): string {
    return this.gateway.edge.url
  }

  get keys(): Readonly<Record<string, string>> {
    return this.gateway.edge.keys
  }

  /** The run's operator key: the evacuate scenario moves merchants through the operator API. */
  get operatorKey(): string {
    return this.gateway.edge.operatorKey
  }

  replicationStatusUrl(region: string): string {
    const r = this.gateway.replication.find((x) => x.region === region)
    if (!r) throw new Error(`no replication process for ${region}`)
    return r.statusUrl
  }

  private services(region: string) {
    const s = this.gateway.services.find((x) => x.region.id === region)
    if (!s) throw new Error(`no region ${region}; regions are ${this.regionIds.join(', ')}`)
    return s
  }

  killRole(region: string, role: RegionRole): Promise<void> {
    return this.services(region).kill(role)
  }

  startRole(region: string, role: RegionRole): Promise<void> {
    return this.services(region).start(role)
  }

  /** Hang (SIGSTOP) or resume (SIGCONT) one role's process of a region. */
  hangRole(region: string, role: RegionRole, hung: boolean): void {
    this.services(region).signal(role, hung ? 'SIGSTOP' : 'SIGCONT')
  }

  /** Hold (or release) everything the region answers the edge; see LatencyProxy.holdResponses. */
  holdResponses(region: string, on: boolean): void {
    const proxy = this.proxies.get(region)
    if (!proxy) throw new Error(`no latency proxy in front of ${region}`)
    proxy.holdResponses(on)
  }

  broker(region: string): KafkaBroker {
    return this.services(region).region.kafka
  }

  /** Refuse (or allow again) every connection to the region's database, dropping the open ones. */
  async setDatabaseReachable(region: string, reachable: boolean): Promise<void> {
    const name = new URL(this.services(region).region.databaseUrl).pathname.slice(1)
    await setDatabaseReachable(this.admin, name, reachable)
  }

  /** Pause or resume `destination`'s replicator reading `origin`'s cluster. */
  async setLink(destination: string, origin: string, up: boolean): Promise<void> {
    const base = this.replicationStatusUrl(destination).replace(/\/replication\/status$/, '')
    const response = await fetch(`${base}/replication/links/${origin}/${up ? 'resume' : 'pause'}`, {
      method: 'POST',
    })
    if (!response.ok)
      throw new Error(
        `${destination}: link from ${origin} ${up ? 'resume' : 'pause'} answered ${response.status}: ${await response.text()}`,
      )
  }

  setLatencyMs(region: string, ms: number): void {
    const proxy = this.proxies.get(region)
    if (!proxy) throw new Error(`no latency proxy in front of ${region}`)
    proxy.setDelayMs(ms)
  }

  async setSimFaults(processor: string, faults: Record<string, number>): Promise<void> {
    const url = this.simulatorUrls[processor]
    if (!url)
      throw new Error(
        `no simulator ${processor}; have ${Object.keys(this.simulatorUrls).join(', ')}`,
      )
    const response = await fetch(`${url}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    })
    if (!response.ok) throw new Error(`${processor}: /_sim/faults answered ${response.status}`)
  }

  /** Every replication process of the gateway, stopped: the sabotage that proves the checker fails. */
  async stopReplication(): Promise<void> {
    await Promise.all(this.gateway.replication.map((r) => r.service.stop()))
  }

  async close(): Promise<void> {
    await Promise.all(
      [...Object.values(this.pools), this.admin].map((p) => p.end().catch(() => {})),
    )
    await Promise.all([...this.proxies.values()].map((p) => p.close()))
  }
}

/** Puts a latency proxy in front of each region API it is given, remembering it in `created`. */
export function proxiedOrigin(
  created: Map<string, LatencyProxy>,
): (region: string, apiUrl: string) => Promise<string> {
  return async (region, apiUrl) => {
    const proxy = await startLatencyProxy(apiUrl)
    created.set(region, proxy)
    return proxy.url
  }
}
