/**
 * What a run counts (every fault and recovery path it went through, so a reader sees the faults
 * were really exercised) and, when asked, traces (one line per step that matters, with the
 * virtual time: how a failing seed is read).
 */
export class Telemetry {
  readonly stats: Record<string, number> = {}
  readonly lines: string[] | undefined

  constructor(
    private readonly nowMs: () => number,
    tracing: boolean,
  ) {
    this.lines = tracing ? [] : undefined
  }

  count(what: string, by = 1): void {
    this.stats[what] = (this.stats[what] ?? 0) + by
  }

  /** Built only when tracing: a run without a trace pays nothing for its lines. */
  trace(line: () => string): void {
    this.lines?.push(`${(this.nowMs() / 1000).toFixed(3).padStart(8)}  ${line()}`)
  }
}
