import { encodePost, RawPool } from './raw-http.ts'

/** One request the generator sends; built ahead of time so generating load costs little. */
export interface PreparedRequest {
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: string
}

export interface LoadResult {
  readonly sent: number
  readonly durationSec: number
  readonly statuses: ReadonlyMap<number, number>
  readonly errors: number
  /** Per request, from its intended start (open loop) or its actual start (closed loop). */
  readonly latenciesMs: Float64Array
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}

export function summarize(result: LoadResult, okStatus: number) {
  const sorted = Float64Array.from(result.latenciesMs).sort()
  const ok = result.statuses.get(okStatus) ?? 0
  return {
    sent: result.sent,
    okPerSec: ok / result.durationSec,
    errorRate: (result.sent - ok) / Math.max(1, result.sent),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    statuses: Object.fromEntries(result.statuses),
    /** What the failures were: `503×2, no answer×1`; empty when every answer was `okStatus`. */
    failures: [
      ...[...result.statuses]
        .filter(([status]) => status !== okStatus)
        .map(([status, n]) => `${status}×${n}`),
      ...(result.errors > 0 ? [`no answer×${result.errors}`] : []),
    ].join(', '),
  }
}

/** An error rate with what made it up: `0.07% (503×12)`. */
export function errorsCell(s: { errorRate: number; failures: string }): string {
  const rate = `${(s.errorRate * 100).toFixed(2)}%`
  return s.failures ? `${rate} (${s.failures})` : rate
}

function send(pool: RawPool, r: PreparedRequest): Promise<number> {
  return pool.request(encodePost(pool.hostHeader, r.path, r.headers, r.body))
}

/** One server an open loop sends to, and the requests it sends there. */
export interface LoadTarget {
  readonly origin: string
  readonly next: (i: number) => PreparedRequest
}

/**
 * Open-loop load at a constant arrival rate (k6's constant-arrival-rate): requests start on
 * schedule whether or not earlier ones finished, and latency counts from the scheduled start,
 * so a slow server cannot hide its queueing (no coordinated omission).
 *
 * With several targets each gets `ratePerSec` and they take turns (request i goes to target
 * i mod n): every target sees the same seconds of the machine, so a difference between them is
 * theirs and not a noisy neighbour's (or the previous run's leftover work).
 */
export async function openLoopInterleaved(
  targets: readonly LoadTarget[],
  ratePerSec: number,
  durationSec: number,
  connections = 256,
): Promise<LoadResult[]> {
  const n = targets.length
  const pools = targets.map((t) => new RawPool(t.origin, connections))
  const perTarget = Math.floor(ratePerSec * durationSec)
  const total = perTarget * n
  const totalRate = ratePerSec * n
  const latencies = targets.map(() => new Float64Array(perTarget))
  const statuses = targets.map(() => new Map<number, number>())
  const errors = targets.map(() => 0)
  let sent = 0
  const pending: Promise<void>[] = []
  const start = performance.now()
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * totalRate) / 1000))
    for (; sent < due; sent++) {
      const k = sent % n
      const i = Math.floor(sent / n)
      const scheduled = start + (sent * 1000) / totalRate
      const lat = latencies[k] as Float64Array
      const counts = statuses[k] as Map<number, number>
      pending.push(
        send(pools[k] as RawPool, (targets[k] as LoadTarget).next(i)).then(
          (status) => {
            lat[i] = performance.now() - scheduled
            counts.set(status, (counts.get(status) ?? 0) + 1)
          },
          () => {
            lat[i] = performance.now() - scheduled
            errors[k] = (errors[k] ?? 0) + 1
          },
        ),
      )
    }
    // Sleep until the next request is due (timers tick in whole milliseconds): spinning here
    // would take a core from the server on a small machine, and a request sent late has its
    // latency counted from its schedule anyway.
    const wait = start + (sent * 1000) / totalRate - performance.now()
    await new Promise((r) => setTimeout(r, Math.max(1, wait)))
  }
  await Promise.all(pending)
  const durationMs = performance.now() - start
  for (const p of pools) p.close()
  return targets.map((_, k) => ({
    sent: perTarget,
    durationSec: durationMs / 1000,
    statuses: statuses[k] as Map<number, number>,
    errors: errors[k] ?? 0,
    latenciesMs: latencies[k] as Float64Array,
  }))
}

/** Open-loop load on one server (see openLoopInterleaved). */
export async function openLoop(
  origin: string,
  ratePerSec: number,
  durationSec: number,
  next: (i: number) => PreparedRequest,
  connections = 256,
): Promise<LoadResult> {
  const [result] = await openLoopInterleaved(
    [{ origin, next }],
    ratePerSec,
    durationSec,
    connections,
  )
  if (!result) throw new Error('an open loop on one target gave no result')
  return result
}

/** Closed loop: `connections` clients each send the next request as soon as one returns. */
export async function closedLoop(
  origin: string,
  connections: number,
  durationSec: number,
  next: (i: number) => PreparedRequest,
): Promise<LoadResult> {
  const pool = new RawPool(origin, connections)
  const latencies: number[] = []
  const statuses = new Map<number, number>()
  let errors = 0
  let sent = 0
  const start = performance.now()
  const deadline = start + durationSec * 1000
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const began = performance.now()
        const i = sent++
        try {
          const status = await send(pool, next(i))
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
        } catch {
          errors += 1
        }
        latencies.push(performance.now() - began)
      }
    }),
  )
  const durationMs = performance.now() - start
  pool.close()
  return {
    sent,
    durationSec: durationMs / 1000,
    statuses,
    errors,
    latenciesMs: Float64Array.from(latencies),
  }
}
