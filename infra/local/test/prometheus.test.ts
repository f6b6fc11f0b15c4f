import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fleet } from '@meridian/core'
import { prometheusConfig, rulesFile } from '@meridian/observability'
import { createMetrics } from '@meridian/regions'
import { afterAll, describe, expect, it } from 'vitest'
import { localScrapeTargets } from '../src/observe.ts'
import { freePort } from '../src/ports.ts'
import { type LocalPrometheus, prometheusInstall, startPrometheus } from '../src/prometheus.ts'

// Debian's `prometheus` package brings both binaries; without it these say SKIPPED, loudly.
const missing = spawnSync('prometheus', ['--version']).error !== undefined
if (missing) process.stderr.write(`\nSKIPPED local Prometheus tests: ${prometheusInstall}\n\n`)
const skipped = missing ? ` (SKIPPED: ${prometheusInstall})` : ''

const dir = mkdtempSync(join(tmpdir(), 'meridian-prometheus-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Polls until `check` passes or the deadline: waiting on a condition, never a fixed sleep. */
async function eventually(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

describe('Prometheus for pnpm start --observe', () => {
  it('says what to install when the binary is missing, and does not throw', async () => {
    const started = await startPrometheus({
      dir: join(dir, 'missing'),
      port: await freePort(),
      targets: [],
      binary: 'prometheus-that-is-not-installed',
    })
    expect(started).toEqual({ problem: prometheusInstall })
    expect(prometheusInstall).toMatch(/apt-get install prometheus/)
  })

  it.skipIf(missing)(
    `the local topology's configuration passes promtool check config${skipped}`,
    () => {
      const targets = localScrapeTargets(fleet.regions.map((r) => r.id))
      // Per region: the API, relay, workers, webhooks+reconciler, replication; no port twice.
      expect(targets).toHaveLength(5 * fleet.regions.length)
      expect(new Set(targets.map((t) => t.address)).size).toBe(targets.length)
      const file = join(dir, 'local.yml')
      writeFileSync(file, prometheusConfig({ targets, ruleFiles: [rulesFile], scrapeIntervalS: 5 }))
      const run = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' })
      expect(run.stdout + run.stderr).toMatch(/SUCCESS: \d+ rule files found/)
      expect(run.status, run.stdout + run.stderr).toBe(0)
    },
  )

  it.skipIf(missing)(
    `scrapes a region's metrics with the rules loaded, and stops${skipped}`,
    async () => {
      const metrics = createMetrics('eu-west')
      metrics.outboxBacklog.set(42)
      const server: Server = createServer((_, res) => {
        void metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text)
        })
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const address = `127.0.0.1:${(server.address() as AddressInfo).port}`
      let prometheus: LocalPrometheus | undefined
      try {
        const started = await startPrometheus({
          dir: join(dir, 'scrape'),
          port: await freePort(),
          targets: [
            { job: 'meridian-region', address, labels: { region: 'eu-west', role: 'relay' } },
          ],
        })
        if (!('running' in started)) throw new Error(started.problem)
        prometheus = started.running
        const url = prometheus.url
        const rules = (await (await fetch(`${url}/api/v1/rules`)).json()) as {
          data: { groups: { name: string }[] }
        }
        expect(rules.data.groups.map((g) => g.name)).toContain('meridian-fleet')
        // The service's own `region` label stays `region` (honor_labels), beside the target's role.
        await eventually(async () => {
          const query = `${url}/api/v1/query?query=${encodeURIComponent('meridian_outbox_backlog')}`
          const body = (await (await fetch(query)).json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] }
          }
          expect(body.data.result).toEqual([
            {
              metric: expect.objectContaining({ region: 'eu-west', role: 'relay' }),
              value: [expect.any(Number), '42'],
            },
          ])
        })
      } finally {
        await prometheus?.stop()
        await new Promise((r) => server.close(r))
      }
      await expect(fetch(`${prometheus?.url}/-/ready`)).rejects.toThrow()
    },
  )
})
