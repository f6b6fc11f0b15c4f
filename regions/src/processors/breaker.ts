/**
 * A circuit breaker per processor: after `failuresMax` consecutive transport failures it opens
 * and refuses calls for `openMs`, then lets one trial through (half-open); a success closes it.
 * Declines are answers, not failures, and never trip it.
 */
export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerOptions {
  readonly failuresMax: number
  readonly openMs: number
}

export const breakerDefaults: BreakerOptions = { failuresMax: 5, openMs: 5000 }

export class CircuitBreaker {
  private failures = 0
  private openedAtMs: number | undefined
  private trialInFlight = false

  constructor(
    readonly name: string,
    private readonly options: BreakerOptions = breakerDefaults,
    private readonly nowMs: () => number = Date.now,
    /** Told each time it opens (its metric counts openings a scrape would miss). */
    private readonly onOpen: () => void = () => {},
  ) {}

  get state(): BreakerState {
    if (this.openedAtMs === undefined) return 'closed'
    return this.nowMs() - this.openedAtMs >= this.options.openMs ? 'half_open' : 'open'
  }

  /** May a call go out now? In half-open, only one trial at a time. */
  allow(): boolean {
    const state = this.state
    if (state === 'closed') return true
    if (state === 'open' || this.trialInFlight) return false
    this.trialInFlight = true
    return true
  }

  success(): void {
    this.failures = 0
    this.openedAtMs = undefined
    this.trialInFlight = false
  }

  failure(): void {
    this.trialInFlight = false
    this.failures += 1
    const before = this.state
    if (before === 'half_open' || this.failures >= this.options.failuresMax) {
      this.openedAtMs = this.nowMs()
      // Calls that went out before it opened and fail afterwards only extend the opening.
      if (before !== 'open') this.onOpen()
    }
  }
}
