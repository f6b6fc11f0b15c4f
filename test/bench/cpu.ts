/**
 * CPU time for the benches: CPU seconds per payment are far steadier than throughput on a shared
 * machine. This process's own time comes from process.cpuUsage(); any other process's from
 * /proc/<pid>/stat (utime + stime, in clock ticks), so the figures are Linux-only.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** Linux's USER_HZ: /proc times are in 1/100 s on every architecture Node runs on here. */
const clockTicksPerSec = 100

/** CPU seconds (user + system) this process used since `since` (a process.cpuUsage() result). */
export function ownCpuSec(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1e6
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), from state. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined // gone between listing and reading
  }
}

/** CPU seconds (user + system) process `pid` has used since it started; 0 once it is gone. */
export function processCpuSec(pid: number): number {
  const fields = statFields(pid)
  if (!fields) return 0
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSec
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
}

/** Every process in process group `pgid` (a broker's wrapper script and its JVM). */
export function processGroupPids(pgid: number): number[] {
  return allPids().filter((pid) => Number(statFields(pid)?.[2]) === pgid)
}

/** Every process whose command name is `comm` (e.g. `redis-server`). */
export function pidsNamed(comm: string): number[] {
  return allPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm
    } catch {
      return false
    }
  })
}

/**
 * One row of a CPU table: the processes it counts, listed afresh at each reading, since a
 * connection pool may open a backend mid-run (it then counts from its start) or close one (its
 * time since the last reading is lost: keep pools warm through a measured phase).
 */
export interface CpuSource {
  readonly name: string
  readonly pids: () => Promise<readonly number[]> | readonly number[]
  /** Shared with other users of the machine (one Redis, one PostgreSQL): read with care. */
  readonly shared?: boolean
}

export interface CpuRow {
  readonly name: string
  readonly cpuSec: number
  readonly shared: boolean
}

type Reading = Map<string, Map<number, number>>

async function read(sources: readonly CpuSource[]): Promise<Reading> {
  const out: Reading = new Map()
  for (const source of sources) {
    const pids = await source.pids()
    out.set(source.name, new Map(pids.map((pid) => [pid, processCpuSec(pid)])))
  }
  return out
}

/** CPU seconds each source's processes used between start() and the returned stop(). */
export async function startCpuMeter(
  sources: readonly CpuSource[],
): Promise<{ stop: () => Promise<CpuRow[]> }> {
  const own = process.cpuUsage()
  const before = await read(sources)
  return {
    stop: async () => {
      const after = await read(sources)
      const rows = sources.map((source) => {
        const was = before.get(source.name) ?? new Map<number, number>()
        let cpuSec = 0
        for (const [pid, now] of after.get(source.name) ?? []) cpuSec += now - (was.get(pid) ?? 0)
        return { name: source.name, cpuSec, shared: source.shared ?? false }
      })
      return [
        ...rows,
        { name: 'load generator (this process)', cpuSec: ownCpuSec(own), shared: false },
      ]
    },
  }
}

/** Which bus client a bench runs with, as the services it starts will read it. */
export function benchKafkaClient(): string {
  return process.env.KAFKA_CLIENT ?? 'kafkajs'
}
