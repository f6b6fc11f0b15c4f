/** `pnpm fleet status` as the operator API answers it (edge/src/control/api.ts). */
export interface Status {
  readonly regions: readonly {
    id: string
    jurisdiction: string
    edge: { up: boolean; consecutiveFailures: number }
    reachable: boolean
    error?: string
    merchantsHomed: number
    status?: {
      links?: readonly {
        origin: string
        lastEventAppliedAt: string | null
        lastEventLatencyMs: number | null
      }[]
    }
  }[]
  readonly merchants: readonly {
    id: string
    placement: { home: string; epoch: number; residency: string }
    move?: { to: string; state: string }
  }[]
}

export function printStatus(s: Status, out: (line: string) => void): void {
  out('regions')
  for (const r of s.regions) {
    const health = r.edge.up ? 'up' : `down (${r.edge.consecutiveFailures} failures)`
    out(
      `  ${r.id.padEnd(9)} ${r.jurisdiction}  edge sees it ${health}  ${r.reachable ? 'answers' : `unreachable: ${r.error}`}  merchants homed ${r.merchantsHomed}`,
    )
    for (const l of r.status?.links ?? [])
      out(
        `    ← ${l.origin.padEnd(9)} lag ${l.lastEventLatencyMs ?? '–'} ms  last applied ${l.lastEventAppliedAt ?? 'never'}`,
      )
  }
  out('merchants')
  for (const m of s.merchants)
    out(
      `  ${m.id.padEnd(24)} home ${m.placement.home.padEnd(9)} epoch ${m.placement.epoch}  ${m.placement.residency}${m.move ? `  moving → ${m.move.to} (${m.move.state})` : ''}`,
    )
}
