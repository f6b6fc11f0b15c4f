import { describe, expect, it } from 'vitest'
import { comparison, cpuSums, type FastpathRecord, loadGeneratorRow } from './fastpath-record.ts'

function record(apiUs: number, generatorUs: number, p99: number): FastpathRecord {
  const row = (name: string, usPerPayment: number) => ({
    name,
    cpuSec: usPerPayment / 100,
    shared: false,
    usPerPayment,
  })
  return {
    version: 1,
    at: '2026-12-06T00:00:00.000Z',
    commit: 'abcdef0123',
    secondsPerRun: 10,
    cpu: {
      ratePerSec: 1000,
      accepted: 10_000,
      rows: [row('API', apiUs), row('relay', 100), row(loadGeneratorRow, generatorUs)],
    },
    maxSustained: { okPerSec: 2000, connections: 64 },
    latency: [
      {
        ratePerSec: 1000,
        fast: { okPerSec: 1000, p50: 5, p99, p999: p99, errors: '0.00%' },
        bare: { okPerSec: 1000, p50: 1, p99: 4, p999: 4, errors: '0.00%' },
        cpuUsPerRequest: { api: apiUs, bare: 60 },
      },
    ],
  }
}

describe('a saved bench:fastpath run', () => {
  it('sums CPU over the path with and without the load generator', () => {
    expect(cpuSums(record(300, 50, 20))).toEqual({ all: 450, path: 400 })
  })
  it('prints each figure beside the saved one with its change', () => {
    const lines = comparison(record(300, 50, 20), record(150, 50, 10))
    expect(lines).toContain('| CPU API (µs/payment) | 300 | 150 | -50% |')
    expect(lines).toContain('| CPU sum, path (µs/payment) | 400 | 250 | -38% |')
    expect(lines).toContain('| 1000/s fast path p99 (ms) | 20.00 | 10.00 | -50% |')
    expect(lines).toContain('| 1000/s p99 ratio to bare Hono (×) | 5.00 | 2.50 | -50% |')
  })
})
