/**
 * The gateway bench:e2e measures, started by the same code as `pnpm start` (startGateway), and
 * every process on its path as rows of a CPU table, each row tagged with its region.
 */
import { readdirSync, readFileSync } from 'node:fs'
import {
  type EdgeRuntime,
  freePort,
  type Gateway,
  type RegionRole,
  regionRoles,
  startGateway,
} from '@meridian/local'
import type pg from 'pg'
import { type CpuSource, pidsNamed, processGroupPids } from './cpu.ts'

/** Databases and Redis keys of its own: a bench must not wipe `pnpm start`'s or a drill's. */
export const benchPrefix = 'bench_e2e'

/**
 * `pnpm start`'s gateway (start.ts: restartCrashed, the local settings). Under load, two limits
 * are raised that would otherwise be what the bench measures, as the drills raise them: every
 * payment uses one test card (tier-1 velocity would decline most), and one merchant sends all
 * requests (the edge's per-merchant limit is 100/s).
 */
export async function startBenchGateway(options: {
  readonly log: (line: string) => void
  readonly edgeRuntime: EdgeRuntime
  readonly underLoad: boolean
}): Promise<Gateway> {
  return startGateway({
    log: options.log,
    restartCrashed: true,
    prefix: benchPrefix,
    edgePort: await freePort(),
    edgeRuntime: options.edgeRuntime,
    ...(options.underLoad
      ? {
          edgeSettings: { rateLimitPerSec: 100_000 },
          regionSettings: { fraud: { cardPaymentsPerWindowMax: 1_000_000 } },
        }
      : {}),
  })
}

/** One row of the CPU table: a component, in one region or (region undefined) fleet-wide. */
export interface Row extends CpuSource {
  readonly component: string
  readonly region: string | undefined
}

/** `root` and every process below it (workerd under wrangler dev or under its Node holder). */
export function processTree(root: number | undefined): number[] {
  if (root === undefined) return []
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)])
    } catch {
      // Gone between listing and reading.
    }
  }
  const tree = [root]
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] ?? -1) ?? []))
  return tree
}

/** Which of a region's processes a PostgreSQL backend serves, from its application_name. */
function clientOf(applicationName: string, region: string): string {
  const prefix = `meridian ${region} `
  return applicationName.startsWith(prefix) ? applicationName.slice(prefix.length) : 'unnamed'
}

type Backend = { pid: number; region: string; client: string }

/**
 * The PostgreSQL backends serving the gateway's databases, by region and client. One query
 * serves every row of one reading of the table (they are read one after another).
 */
function backendsReader(admin: pg.Pool, databases: ReadonlyMap<string, string>) {
  let last: { atMs: number; rows: Promise<Backend[]> } | undefined
  return () => {
    if (!last || Date.now() - last.atMs > 500)
      last = { atMs: Date.now(), rows: backends(admin, databases) }
    return last.rows
  }
}

async function backends(
  admin: pg.Pool,
  databases: ReadonlyMap<string, string>,
): Promise<Backend[]> {
  const { rows } = await admin.query<{ pid: number; datname: string; application_name: string }>(
    'select pid, datname, application_name from pg_stat_activity where datname = any($1::text[])',
    [[...databases.keys()]],
  )
  return rows.map((r) => {
    const region = databases.get(r.datname) ?? '?'
    return { pid: r.pid, region, client: clientOf(r.application_name, region) }
  })
}

/** Every process on the gateway's path; `loadPid` is the load generator's, once it runs. */
export function gatewayRows(
  gateway: Gateway,
  admin: pg.Pool,
  loadPid: () => number | undefined,
): Row[] {
  const regions = gateway.services.map((s) => s.region.id)
  const databases = new Map(
    gateway.services.map((s) => [new URL(s.region.databaseUrl).pathname.slice(1), s.region.id]),
  )
  const readBackends = backendsReader(admin, databases)
  const rows: Row[] = []
  const add = (component: string, region: string | undefined, pids: Row['pids'], shared = false) =>
    rows.push({ name: `${component} @ ${region ?? '*'}`, component, region, pids, shared })
  for (const s of gateway.services) {
    for (const role of Object.keys(regionRoles) as RegionRole[])
      add(role, s.region.id, () => [s.pid(role)].filter((p) => p !== undefined))
    const replication = gateway.replication.find((r) => r.region === s.region.id)
    add('replication', s.region.id, () => processTree(replication?.service.current()?.pid))
    add('Kafka broker (JVM + wrapper)', s.region.id, () => {
      const group = s.region.kafka.processGroup
      return group === undefined ? [] : processGroupPids(group)
    })
  }
  for (const client of [...Object.keys(regionRoles), 'replication', 'unnamed']) {
    const client_ = client === 'webhooks+reconciler' ? 'webhooks,reconciler' : client
    for (const region of regions)
      add(`PostgreSQL backends: ${client}`, region, async () =>
        (await readBackends())
          .filter((b) => b.region === region && b.client === client_)
          .map((b) => b.pid),
      )
  }
  add('edge (all its processes)', undefined, () => processTree(gateway.edge.pid))
  add('this process (Upstash stand-in, probe timer)', undefined, () => [process.pid])
  add('processor simulators', undefined, () => [gateway.simulators.process.pid])
  add('load generator', undefined, () => [loadPid()].filter((p) => p !== undefined))
  add(
    'PostgreSQL background (WAL writer, checkpointer…)',
    undefined,
    () => pgBackground(admin),
    true,
  )
  add('Redis', undefined, () => pidsNamed('redis-server'), true)
  return rows
}

async function pgBackground(admin: pg.Pool): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    "select pid from pg_stat_activity where backend_type not in ('client backend', 'walsender')",
  )
  return rows.map((r) => r.pid)
}
