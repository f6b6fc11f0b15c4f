import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { rulesFile } from '../src/index.ts'

const rulesDir = dirname(rulesFile)
const testFiles = readdirSync(join(rulesDir, 'tests'))
  .filter((f) => f.endsWith('.test.yml'))
  .map((f) => join('tests', f))

function promtool(args: readonly string[], cwd: string) {
  const run = spawnSync('promtool', [...args], { cwd, encoding: 'utf8' })
  return { missing: run.error !== undefined, code: run.status, output: run.stdout + run.stderr }
}

// Debian's `prometheus` package brings promtool. Without it these tests cannot run, and say so
// loudly: SKIPPED in the test names and on stderr, never a silent pass.
const missing = promtool(['--version'], rulesDir).missing
const install = 'promtool not found: install it with `apt-get install prometheus` (Debian package)'
if (missing) process.stderr.write(`\nSKIPPED alert rule tests: ${install}\n\n`)
const skipped = missing ? ` (SKIPPED: ${install})` : ''

describe('alert rules', () => {
  it.skipIf(missing)(`pass promtool check rules${skipped}`, () => {
    const run = promtool(['check', 'rules', rulesFile], rulesDir)
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/)
    expect(run.code).toBe(0)
  })

  it.skipIf(missing)(`pass their unit tests, promtool test rules${skipped}`, () => {
    expect(testFiles.length).toBeGreaterThan(0)
    const run = promtool(['test', 'rules', ...testFiles], rulesDir)
    expect(run.output).not.toMatch(/FAILED/)
    expect(run.code, run.output).toBe(0)
  })

  const scratch = mkdtempSync(join(tmpdir(), 'meridian-rules-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it.skipIf(missing)(`fail their unit tests once a rule is broken${skipped}`, () => {
    // The same tests against a copy whose replication threshold is 5 s instead of 1 s: a test
    // suite that still passed would not be testing the rules.
    cpSync(rulesDir, scratch, { recursive: true })
    const copy = join(scratch, 'meridian.rules.yml')
    const rules = readFileSync(copy, 'utf8')
    const broken = rules.replace(
      '(meridian_replication_link_lag_seconds) > 1',
      '(meridian_replication_link_lag_seconds) > 5',
    )
    expect(broken).not.toBe(rules)
    writeFileSync(copy, broken)
    const run = promtool(['test', 'rules', ...testFiles], scratch)
    expect(run.code).not.toBe(0)
    expect(run.output).toMatch(/FAILED[\s\S]*alertname: ReplicationLagHigh/)
  })
})
