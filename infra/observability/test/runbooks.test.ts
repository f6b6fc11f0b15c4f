import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { rulesFile } from '../src/index.ts'

const doc = readFileSync(new URL('../../../docs/observability.md', import.meta.url), 'utf8')
/** The anchors of the doc's headings, as GitHub makes them (these headings are single words). */
const anchors = new Set(
  [...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => (m[1] ?? '').trim().toLowerCase()),
)
const alerts = (
  parse(readFileSync(rulesFile, 'utf8')) as {
    groups: { rules: { alert?: string; annotations?: { runbook?: string } }[] }[]
  }
).groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined))

describe('every alert says where its runbook is, and it is there', () => {
  it.each(alerts.map((a) => [a.alert, a.annotations?.runbook] as const))('%s', (alert, runbook) => {
    expect(runbook).toBe(`docs/observability.md#${alert?.toLowerCase()}`)
    expect(anchors).toContain(alert?.toLowerCase())
  })
})
