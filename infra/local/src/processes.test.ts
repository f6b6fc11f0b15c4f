import { describe, expect, it } from 'vitest'
import { serviceLines } from './processes.ts'

const esc = String.fromCharCode(27)
const lines = [
  '{"level":"info","msg":"listening"}',
  '{"level":"warn","msg":"slow"}',
  '{"level":"error","msg":"broken"}',
  `${esc}[33m▲ [WARNING]${esc}[0m ${esc}[1m{"level":"warn","msg":"wrapped by a runner"}${esc}[0m`,
  'plain text from a runner',
]

function pass(options: { verbose?: boolean; warnings?: boolean }): string[] {
  const out: string[] = []
  const onLine = serviceLines(options, (line) => out.push(line))
  for (const line of lines) onLine(line)
  return out
}

describe('serviceLines', () => {
  it('passes errors only by default, and warnings too when asked, cut to the JSON object', () => {
    expect(pass({})).toEqual(['{"level":"error","msg":"broken"}'])
    expect(pass({ warnings: true })).toEqual([
      '{"level":"warn","msg":"slow"}',
      '{"level":"error","msg":"broken"}',
      '{"level":"warn","msg":"wrapped by a runner"}',
    ])
  })

  it('passes every line, untouched, when verbose', () => {
    expect(pass({ verbose: true, warnings: true })).toEqual(lines)
  })
})
