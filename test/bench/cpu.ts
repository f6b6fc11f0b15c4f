/**
 * CPU time for the benches: what a client library costs shows in CPU seconds as much as in
 * latency. This process's own time comes from process.cpuUsage(); a child service's from
 * /proc/<pid>/stat (utime + stime, in clock ticks), so the figures are Linux-only.
 */
import { readFileSync } from 'node:fs'

/** Linux's USER_HZ: /proc times are in 1/100 s on every architecture Node runs on here. */
const clockTicksPerSec = 100

/** CPU seconds (user + system) this process used since `since` (a process.cpuUsage() result). */
export function ownCpuSec(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1e6
}

/** CPU seconds (user + system) process `pid` has used since it started. */
export function processCpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start at state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return (utime + stime) / clockTicksPerSec
}

/** Which bus client a bench runs with, as the services it starts will read it. */
export function benchKafkaClient(): string {
  return process.env.KAFKA_CLIENT ?? 'kafkajs'
}
