import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { describeProblems, parseProblem, ServiceLog } from './service-log.ts'

const line = (service: string, fields: Record<string, unknown>) =>
  `[${service}] ${JSON.stringify(fields)}`

describe('parseProblem', () => {
  it('reads warnings and errors of a service line, and nothing else', () => {
    expect(
      parseProblem(line('us-east replication', { level: 'error', msg: 'boom', error: 'why' })),
    ).toEqual({ service: 'us-east replication', level: 'error', msg: 'boom', error: 'why' })
    expect(parseProblem(line('eu-west', { level: 'warn', msg: 'slow' }))).toEqual({
      service: 'eu-west',
      level: 'warn',
      msg: 'slow',
    })
    expect(parseProblem(line('eu-west', { level: 'info', msg: 'fine' }))).toBeUndefined()
    expect(parseProblem('[edge] [wrangler:info] POST /v1/payments 202 Accepted')).toBeUndefined()
    expect(parseProblem('[us-east] {not json}')).toBeUndefined()
  })
})

describe('ServiceLog', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('keeps every line in its file and groups the problems since a moment, errors first', async () => {
    dir = mkdtempSync(join(tmpdir(), 'service-log-'))
    const log = new ServiceLog(join(dir, 'nested', 'services.log'))
    log.write(line('us-east', { level: 'error', msg: 'before the drill' }), 1_000)
    for (const at of [2_000, 2_100, 2_200])
      log.write(line('us-east', { level: 'warn', msg: 'kafka: Connection error' }), at)
    log.write(line('eu-west', { level: 'info', msg: 'ready' }), 2_300)
    log.write(
      line('us-east replication', {
        level: 'error',
        msg: 'consumer stopped',
        error: 'out of order',
      }),
      2_400,
    )
    await log.close()

    const problems = log.problemsSince(1_500)
    expect(problems.map((p) => [p.service, p.level, p.count])).toEqual([
      ['us-east replication', 'error', 1],
      ['us-east', 'warn', 3],
    ])
    expect(describeProblems(problems, 1)).toEqual([
      '[us-east replication] error ×1: consumer stopped — out of order',
      '… and 1 other kinds',
    ])
    expect(readFileSync(log.path, 'utf8').trim().split('\n')).toHaveLength(6)
  })
})
