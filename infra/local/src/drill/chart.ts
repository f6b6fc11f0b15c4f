import type { Bucket } from './series.ts'

export interface ChartMarks {
  /** Seconds since the load started. */
  readonly faultSec: number
  readonly healSec: number
}

const width = 900
const panelHeight = 150
const margin = { left: 70, right: 20, top: 30, bottom: 30 }

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

/**
 * Three stacked panels over the drill's timeline (throughput, error rate, p99), with the fault
 * and the heal drawn across all of them. Plain SVG: opens in any browser, diffable, no deps.
 */
export function chartSvg(title: string, series: readonly Bucket[], marks: ChartMarks): string {
  const panels: { label: string; unit: string; value: (b: Bucket) => number; color: string }[] = [
    { label: 'throughput (acknowledged/s)', unit: '/s', value: (b) => b.ok, color: '#2563eb' },
    {
      label: 'error rate (% of attempts)',
      unit: '%',
      value: (b) => b.errorRate * 100,
      color: '#dc2626',
    },
    { label: 'p99 latency (ms)', unit: 'ms', value: (b) => b.p99Ms, color: '#7c3aed' },
  ]
  const tMax = Math.max(1, ...series.map((b) => b.t + 1))
  const plotWidth = width - margin.left - margin.right
  const x = (t: number) => margin.left + (t / tMax) * plotWidth
  const height = margin.top + panels.length * (panelHeight + margin.bottom) + 10
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>${xmlText(title)}: throughput, error rate and p99 per second</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${margin.left}" y="18" font-size="14" font-weight="bold">${xmlText(title)}</text>`,
  ]
  panels.forEach((panel, i) => {
    const top = margin.top + i * (panelHeight + margin.bottom)
    const values = series.map(panel.value)
    const vMax = Math.max(1, ...values) * 1.1
    const y = (v: number) => top + panelHeight - (v / vMax) * panelHeight
    out.push(
      `<text x="${margin.left}" y="${top - 4}" fill="${panel.color}">${xmlText(panel.label)}</text>`,
    )
    out.push(
      `<rect x="${margin.left}" y="${top}" width="${plotWidth}" height="${panelHeight}" fill="none" stroke="#ccc"/>`,
    )
    for (const frac of [0, 0.5, 1]) {
      const v = vMax * frac
      out.push(
        `<text x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${v >= 100 ? Math.round(v) : v.toFixed(1)}</text>`,
      )
    }
    for (const [sec, label, color] of [
      [marks.faultSec, 'fault', '#dc2626'],
      [marks.healSec, 'heal', '#16a34a'],
    ] as const) {
      out.push(
        `<line x1="${x(sec)}" x2="${x(sec)}" y1="${top}" y2="${top + panelHeight}" stroke="${color}" stroke-dasharray="4 3"/>`,
      )
      if (i === 0)
        out.push(`<text x="${x(sec) + 3}" y="${top + 12}" fill="${color}">${label}</text>`)
    }
    const points = series
      .map((b) => `${x(b.t + 0.5).toFixed(1)},${y(panel.value(b)).toFixed(1)}`)
      .join(' ')
    out.push(
      `<polyline points="${points}" fill="none" stroke="${panel.color}" stroke-width="1.5"/>`,
    )
    const ticks = Math.min(10, Math.floor(tMax))
    for (let k = 0; k <= ticks; k++) {
      const t = (tMax * k) / ticks
      out.push(
        `<text x="${x(t)}" y="${top + panelHeight + 14}" text-anchor="middle" fill="#555">${Math.round(t)}s</text>`,
      )
    }
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
