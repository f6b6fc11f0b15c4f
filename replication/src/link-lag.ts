/** What a region last heard from one origin's heartbeats (the origin's clock, then its own). */
export interface LastHeartbeat {
  readonly sentMs: number
  readonly receivedMs: number
}

/**
 * How far this region is behind an origin, at least, in seconds: the last heartbeat's trip, or,
 * once the next heartbeat (sent `intervalMs` after it) is overdue, by how much. The age of the
 * last heartbeat would saw between 0 and the interval on a healthy link, and the last trip alone
 * would freeze on a link that stopped; this does neither. Clock skew between the two regions
 * shifts it by the skew.
 */
export function linkLagSeconds(last: LastHeartbeat, intervalMs: number, nowMs: number): number {
  const tripMs = last.receivedMs - last.sentMs
  const overdueMs = nowMs - last.sentMs - intervalMs
  return Math.max(tripMs, overdueMs, 0) / 1000
}
