import { fnv1a32 } from '@meridian/core'

/**
 * What this edge believes about each region's health. Passive detection marks a region down on
 * the first refused connection, or after a few consecutive timeouts or retryable 5xx answers (those the
 * region marks `Meridian-Retryable: true`; a plain 500 or a 4xx is never counted); active probes
 * of /readyz (scheduled, and lazily while a region is down) bring it back. After a region has been
 * healthy for `failbackHealthyMs`, traffic returns to it gradually over `failbackRampMs`.
 */
export type FailureKind = 'refused' | 'timeout' | 'server_error'

export const failuresBeforeDown = 3
export const probeIntervalMs = 1000

interface RegionHealth {
  up: boolean
  consecutiveFailures: number
  downSinceMs: number | undefined
  /** When the region last came back after being down (drives failback). */
  recoveredAtMs: number | undefined
  lastProbeMs: number
}

export class HealthBoard {
  private readonly regions = new Map<string, RegionHealth>()

  constructor(private readonly nowMs: () => number = Date.now) {}

  private get(region: string): RegionHealth {
    let h = this.regions.get(region)
    if (!h) {
      h = {
        up: true,
        consecutiveFailures: 0,
        downSinceMs: undefined,
        recoveredAtMs: undefined,
        lastProbeMs: 0,
      }
      this.regions.set(region, h)
    }
    return h
  }

  isUp(region: string): boolean {
    return this.get(region).up
  }

  /** Counts a failure; 'down' when this one marked the region down (worth a log line). */
  failure(region: string, kind: FailureKind): 'down' | undefined {
    const h = this.get(region)
    h.consecutiveFailures += 1
    if (h.up && (kind === 'refused' || h.consecutiveFailures >= failuresBeforeDown)) {
      h.up = false
      h.downSinceMs = this.nowMs()
      h.recoveredAtMs = undefined
      return 'down'
    }
    return undefined
  }

  /** Counts a success; 'up' when it brought a down region back. */
  success(region: string): 'up' | undefined {
    const h = this.get(region)
    h.consecutiveFailures = 0
    if (h.up) return undefined
    h.up = true
    h.downSinceMs = undefined
    h.recoveredAtMs = this.nowMs()
    return 'up'
  }

  /** Down regions whose next probe is due (a probe at most every probeIntervalMs per region). */
  dueProbes(regions: readonly string[]): string[] {
    const now = this.nowMs()
    return regions.filter((r) => {
      const h = this.get(r)
      if (h.up || now - h.lastProbeMs < probeIntervalMs) return false
      h.lastProbeMs = now
      return true
    })
  }

  /** Share of traffic that may go back to a recovered region now: 0 … 1. */
  failbackShare(region: string, healthyMs: number, rampMs: number): number {
    const h = this.get(region)
    if (!h.up) return 0
    if (h.recoveredAtMs === undefined) return 1
    const since = this.nowMs() - h.recoveredAtMs - healthyMs
    if (since <= 0) return 0
    return Math.min(1, since / rampMs)
  }

  /**
   * Regions to try for one request, best first: the route order with down regions moved to the
   * back (still tried as a last resort), and a recovering home region held back unless this
   * request falls within its failback share.
   */
  order(route: readonly string[], requestId: string, healthyMs: number, rampMs: number): string[] {
    const [home, ...rest] = route
    if (home === undefined) return []
    const draw = (fnv1a32(requestId) % 10_000) / 10_000
    const homeFirst = this.isUp(home) && draw < this.failbackShare(home, healthyMs, rampMs)
    const ordered = homeFirst ? [home, ...rest] : [...rest, home]
    return [...ordered.filter((r) => this.isUp(r)), ...ordered.filter((r) => !this.isUp(r))]
  }

  snapshot(): Record<string, { up: boolean; consecutiveFailures: number }> {
    return Object.fromEntries(
      [...this.regions].map(([r, h]) => [
        r,
        { up: h.up, consecutiveFailures: h.consecutiveFailures },
      ]),
    )
  }
}
