import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { dashboardFile, metricNames, rulesFile } from '../src/index.ts'
import { exportedSeries, prometheusSeries } from './exported-metrics.ts'

interface Rule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
}
interface Panel {
  readonly title: string
  readonly type: string
  readonly panels?: readonly Panel[]
  readonly targets?: readonly { readonly expr: string }[]
}

const rules: Rule[] = (
  parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules)
const recorded = rules.flatMap((r) => (r.record ? [r.record] : []))
const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
  panels: Panel[]
  templating: { list: { name: string; definition?: string }[] }
}
/** Every panel that shows data, rows' nested panels included. */
const dataPanels = dashboard.panels
  .flatMap((p) => [p, ...(p.panels ?? [])])
  .filter((p) => p.type !== 'row')

let known: Set<string>
beforeAll(async () => {
  known = new Set([...(await exportedSeries()), ...prometheusSeries, ...recorded])
})

/** The names `expr` reads that nothing exports; and a query must read at least one. */
function unknownIn(expr: string): string[] {
  const names = metricNames(expr)
  if (names.length === 0) return [`(no metric in ${JSON.stringify(expr)})`]
  return names.filter((n) => !known.has(n))
}

describe('every query names only metrics the code exports', () => {
  it('derives the exported names from the services, histograms with their series', async () => {
    const exported = await exportedSeries()
    // A few that must be there whatever else changes: a guard against deriving nothing.
    for (const name of [
      'meridian_http_request_duration_seconds_bucket',
      'meridian_outbox_backlog',
      'meridian_replication_link_lag_seconds',
      'meridian_processor_breaker_state',
    ])
      expect(exported).toContain(name)
    expect(exported).not.toContain('meridian_http_request_duration_seconds')
  })

  it.each(rules.map((r) => [r.alert ?? r.record ?? '?', r.expr] as const))('rule %s', (_, expr) => {
    expect(unknownIn(expr)).toEqual([])
  })

  it.each(dataPanels.map((p) => [p.title, (p.targets ?? []).map((t) => t.expr)] as const))(
    'panel %s',
    (_, exprs) => {
      expect(exprs.length).toBeGreaterThan(0)
      expect(exprs.flatMap(unknownIn)).toEqual([])
    },
  )

  it("the region variable's label_values reads an exported metric", () => {
    for (const variable of dashboard.templating.list) {
      const metric = variable.definition?.match(/^label_values\((\w+),\s*\w+\)$/)?.[1]
      if (variable.definition !== undefined) expect(known).toContain(metric)
    }
  })

  it('would catch a panel or rule naming a metric nobody exports', () => {
    expect(unknownIn('sum(rate(meridian_payments_lost_total[5m])) > 0')).toEqual([
      'meridian_payments_lost_total',
    ])
    // A histogram's own name is no series: only its _bucket, _sum and _count are.
    expect(unknownIn('meridian_http_request_duration_seconds')).toEqual([
      'meridian_http_request_duration_seconds',
    ])
  })
})
