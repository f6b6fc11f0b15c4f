import { describe, expect, it } from 'vitest'
import { chartSvg } from './chart.ts'
import type { Bucket } from './series.ts'

describe('chartSvg', () => {
  it('draws three panels with the fault and heal marked, escaping the title', () => {
    const series: Bucket[] = Array.from({ length: 20 }, (_, t) => ({
      t,
      attempts: 10,
      ok: t >= 5 && t < 8 ? 6 : 10,
      errors: t >= 5 && t < 8 ? 4 : 0,
      errorRate: t >= 5 && t < 8 ? 0.4 : 0,
      p99Ms: 20 + t,
    }))
    const svg = chartSvg('a < b & c', series, { faultSec: 5, healSec: 8 })
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('a &lt; b &amp; c')
    for (const label of ['throughput', 'error rate', 'p99', 'fault', 'heal'])
      expect(svg).toContain(label)
    expect(svg.match(/<polyline/g)?.length).toBe(3)
  })
})
