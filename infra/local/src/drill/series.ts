import type { Attempt } from './load.ts'

/** One slice of the drill's timeline, as the merchants saw it. */
export interface Bucket {
  /** Seconds since the load started, at the slice's start. */
  readonly t: number
  readonly attempts: number
  readonly ok: number
  readonly errors: number
  readonly errorRate: number
  readonly p99Ms: number
}

export const bucketMs = 1_000
/** RTO is "success back to ≥ 99%", held for this long so one lucky second does not count. */
export const recoveredHoldMs = 3_000
export const successRateRecovered = 0.99

const isOk = (a: Attempt) => a.status >= 200 && a.status < 300

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
}

export function buckets(
  attempts: readonly Attempt[],
  startMs: number,
  endMs: number,
  sizeMs = bucketMs,
): Bucket[] {
  const out: Bucket[] = []
  for (let from = startMs; from < endMs; from += sizeMs) {
    const slice = attempts.filter((a) => a.sentAtMs >= from && a.sentAtMs < from + sizeMs)
    const ok = slice.filter(isOk).length
    out.push({
      t: (from - startMs) / 1000,
      attempts: slice.length,
      ok,
      errors: slice.length - ok,
      errorRate: slice.length === 0 ? 0 : (slice.length - ok) / slice.length,
      p99Ms: percentile(
        slice.map((a) => a.latencyMs),
        99,
      ),
    })
  }
  return out
}

/** Attempts sent in [from, to). */
export function window(attempts: readonly Attempt[], from: number, to: number): Attempt[] {
  return attempts.filter((a) => a.sentAtMs >= from && a.sentAtMs < to)
}

export function summarize(attempts: readonly Attempt[]) {
  const ok = attempts.filter(isOk).length
  return {
    attempts: attempts.length,
    errorRate: attempts.length === 0 ? 0 : (attempts.length - ok) / attempts.length,
    p50Ms: percentile(
      attempts.map((a) => a.latencyMs),
      50,
    ),
    p99Ms: percentile(
      attempts.map((a) => a.latencyMs),
      99,
    ),
  }
}

/**
 * Recovery time objective, from the merchants' side: fault → the moment success is back at
 * ≥ 99% and stays there for `recoveredHoldMs`. Zero when the success rate never dipped.
 * Undefined when it never recovered before the data ends.
 */
export function recoveryMs(
  attempts: readonly Attempt[],
  faultMs: number,
  endMs: number,
  stepMs = 250,
): number | undefined {
  const rate = (from: number) => {
    const slice = window(attempts, from, from + stepMs * 4)
    return slice.length === 0 ? 1 : slice.filter(isOk).length / slice.length
  }
  let dipped = false
  for (let t = faultMs; t < endMs; t += stepMs) {
    if (rate(t) < successRateRecovered) {
      dipped = true
      continue
    }
    if (!dipped) continue
    let held = true
    for (let h = t; h < Math.min(endMs, t + recoveredHoldMs); h += stepMs)
      if (rate(h) < successRateRecovered) held = false
    if (held) return t - faultMs
  }
  return dipped ? undefined : 0
}

/** Whether `region` was the home of the merchant paying with `key` when the answer came at `atMs`. */
export type IsHome = (key: string, region: string, atMs: number) => boolean

/**
 * The first sign, seen by a merchant, that something changed: an error, an answer from a region
 * other than the merchant's home at the time (failover), or latency above `slowFactor` × the
 * baseline p99.
 */
export function firstAnomalyMs(
  attempts: readonly Attempt[],
  faultMs: number,
  baselineP99Ms: number,
  isHome: IsHome,
  slowFactor = 2,
): number | undefined {
  const after = attempts
    .filter((a) => a.sentAtMs >= faultMs)
    .sort((a, b) => a.sentAtMs - b.sentAtMs)
  for (const a of after) {
    const failedOver = a.region !== undefined && !isHome(a.key, a.region, a.sentAtMs + a.latencyMs)
    if (!isOk(a) || failedOver || a.latencyMs > baselineP99Ms * slowFactor)
      return a.sentAtMs + a.latencyMs - faultMs
  }
  return undefined
}

/** One kind of failed attempt: what the merchant got, how often, and when (seconds from load start). */
export interface FailureKind {
  readonly status: number
  readonly error: string
  readonly count: number
  readonly firstSec: number
  readonly lastSec: number
}

/** Failed attempts grouped by status and error, most frequent first. */
export function failureKinds(attempts: readonly Attempt[], startMs: number): FailureKind[] {
  const kinds = new Map<string, FailureKind>()
  for (const a of attempts) {
    if (isOk(a)) continue
    const error = a.error ?? 'unknown'
    const id = `${a.status} ${error}`
    const sec = (a.sentAtMs - startMs) / 1000
    const seen = kinds.get(id)
    kinds.set(id, {
      status: a.status,
      error,
      count: (seen?.count ?? 0) + 1,
      firstSec: Math.min(seen?.firstSec ?? sec, sec),
      lastSec: Math.max(seen?.lastSec ?? sec, sec),
    })
  }
  return [...kinds.values()].sort((a, b) => b.count - a.count)
}
