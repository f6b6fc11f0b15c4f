import { Pool } from 'undici'

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

async function send(pool: Pool, r: PreparedRequest): Promise<number> {
  const res = await pool.request({ method: 'POST', path: r.path, headers: r.headers, body: r.body })
  await res.body.dump()
  return res.statusCode
}

/**
 * Open-loop load at a constant arrival rate (k6's constant-arrival-rate): requests start on
 * schedule whether or not earlier ones finished, and latency counts from the scheduled start,
 * so a slow server cannot hide its queueing (no coordinated omission).
 */
export async function openLoop(
  origin: string,
  ratePerSec: number,
  durationSec: number,
  next: (i: number) => PreparedRequest,
  connections = 256,
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 })
  const total = Math.floor(ratePerSec * durationSec)
  const latencies = new Float64Array(total)
  const statuses = new Map<number, number>()
  let errors = 0
  let sent = 0
  const pending: Promise<void>[] = []
  const start = performance.now()
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * ratePerSec) / 1000))
    for (; sent < due; sent++) {
      const i = sent
      const scheduled = start + (i * 1000) / ratePerSec
      pending.push(
        send(pool, next(i)).then(
          (status) => {
            latencies[i] = performance.now() - scheduled
            statuses.set(status, (statuses.get(status) ?? 0) + 1)
          },
          () => {
            latencies[i] = performance.now() - scheduled
            errors += 1
          },
        ),
      )
    }
    await new Promise((r) => setImmediate(r))
  }
  await Promise.all(pending)
  const durationMs = performance.now() - start
  await pool.close()
  return { sent, durationSec: durationMs / 1000, statuses, errors, latenciesMs: latencies }
}

/** Closed loop: `connections` clients each send the next request as soon as one returns. */
export async function closedLoop(
  origin: string,
  connections: number,
  durationSec: number,
  next: (i: number) => PreparedRequest,
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 })
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
  await pool.close()
  return {
    sent,
    durationSec: durationMs / 1000,
    statuses,
    errors,
    latenciesMs: Float64Array.from(latencies),
  }
}
