/**
 * Hybrid logical clock (Kulkarni et al., 2014). Every event carries one, so events from different
 * regions order consistently with causality even when wall clocks disagree a little.
 */
export interface Hlc {
  /** Milliseconds since the epoch: the largest physical time this clock has seen. */
  readonly wallMs: number
  /** Tie-breaker for events within the same wallMs. */
  readonly logical: number
  /** The region (or process) that made the timestamp; the final tie-breaker. */
  readonly node: string
}

/** A remote timestamp further ahead of our physical clock than this is refused. */
export const hlcDriftMsMax = 60_000
/** Beyond this many events in one millisecond the clock borrows the next millisecond. */
export const hlcLogicalMax = 0xffff

export function compareHlc(a: Hlc, b: Hlc): -1 | 0 | 1 {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  if (a.node !== b.node) return a.node < b.node ? -1 : 1
  return 0
}

/** A fixed-width string that sorts like compareHlc, for database columns and Kafka headers. */
export function formatHlc(t: Hlc): string {
  return `${t.wallMs.toString().padStart(15, '0')}.${t.logical.toString().padStart(5, '0')}.${t.node}`
}

export function parseHlc(text: string): Hlc | undefined {
  const match = /^(\d{15})\.(\d{5})\.([a-z0-9-]{1,32})$/.exec(text)
  if (!match) return undefined
  const [, wall = '', logical = '', node = ''] = match
  return { wallMs: Number(wall), logical: Number(logical), node }
}

export type ObserveOutcome =
  | { readonly ok: true; readonly hlc: Hlc }
  | { readonly ok: false; readonly reason: 'drift'; readonly driftMs: number }

export class HybridClock {
  private wallMs = 0
  private logical = 0

  constructor(
    readonly node: string,
    private readonly physicalNowMs: () => number = Date.now,
    private readonly driftMsMax: number = hlcDriftMsMax,
  ) {}

  /** Timestamp for a local event or a message about to be sent. */
  now(): Hlc {
    const physical = this.physicalNowMs()
    if (physical > this.wallMs) {
      this.wallMs = physical
      this.logical = 0
    } else {
      this.bumpLogical(this.logical + 1)
    }
    return this.snapshot()
  }

  /** Merge a timestamp received from another node; the result is after both. */
  observe(remote: Hlc): ObserveOutcome {
    const physical = this.physicalNowMs()
    const driftMs = remote.wallMs - physical
    if (driftMs > this.driftMsMax) return { ok: false, reason: 'drift', driftMs }
    const wall = Math.max(this.wallMs, remote.wallMs, physical)
    if (wall === this.wallMs && wall === remote.wallMs) {
      this.bumpLogical(Math.max(this.logical, remote.logical) + 1)
    } else if (wall === this.wallMs) {
      this.bumpLogical(this.logical + 1)
    } else if (wall === remote.wallMs) {
      this.wallMs = wall
      this.bumpLogical(remote.logical + 1)
    } else {
      this.wallMs = wall
      this.logical = 0
    }
    return { ok: true, hlc: this.snapshot() }
  }

  private bumpLogical(next: number): void {
    if (next > hlcLogicalMax) {
      this.wallMs += 1
      this.logical = 0
    } else {
      this.logical = next
    }
  }

  private snapshot(): Hlc {
    return { wallMs: this.wallMs, logical: this.logical, node: this.node }
  }
}
