/**
 * The world the workerd tests run against, as one Node process (global-setup.ts starts it, so
 * none of this goes through the Workers module resolution): real region APIs (three processes,
 * real Postgres and Redis), the Upstash REST stand-in, and a small control server through which
 * tests inside workerd stop and start a region process and count what each region stored.
 * Prints one ready line with every address; SIGTERM stops everything.
 */

import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fleet, Secret } from '@meridian/core'
import { toEnv } from '@meridian/core/edge-settings'
import {
  describeProblems,
  findProblems,
  freePort,
  type ServiceProcess,
  setDatabaseReachable,
  spawnService,
  startUpstashStandIn,
} from '@meridian/local'
import { createPool, databaseUrl, exitWithParent } from '@meridian/platform'
import { keyRingFromText, newKeyRingText, regionSettings } from '@meridian/regions'
import { createTestDb, prepareTestDatabase, type TestDb } from '@meridian/test/harness'

interface RegionProc {
  db: TestDb
  port: number
  process: ServiceProcess | undefined
}

async function main(): Promise<void> {
  const problems = await findProblems()
  if (problems.length > 0) throw new Error(describeProblems(problems))
  await prepareTestDatabase()
  const edgeSecret = randomBytes(24).toString('hex')
  const webhookSecretKeys = newKeyRingText()
  const upstash = await startUpstashStandIn({ token: randomBytes(16).toString('hex') })
  const regions = new Map<string, RegionProc>()
  // Connected to the server's own database, to open and close the regions' databases.
  const admin = createPool({ url: databaseUrl(), poolSizeMax: 1 })
  const launch = async (id: string, r: RegionProc) => {
    r.process = await spawnService({
      name: `edge-test ${id}`,
      entry: regionSettings.entryPoint,
      readyEvent: 'region.ready',
      env: regionSettings.toEnv({
        region: id,
        port: r.port,
        databaseUrl: r.db.url,
        databaseSchema: r.db.schema,
        poolSizeMax: 3,
        redisPrefix: `${r.db.schema}:`,
        // The API alone needs no broker: accepted payments wait in the outbox.
        kafkaBrokers: ['127.0.0.1:9'],
        roles: { api: true },
        edgeSecret: new Secret(edgeSecret),
        webhookSecretKeys: keyRingFromText(webhookSecretKeys),
        logLevel: 'error',
      }),
    })
  }
  for (const { id } of fleet.regions) {
    const r: RegionProc = {
      // A database of its own, so a test can take one region's database away (a real outage).
      db: await createTestDb(`edge_${id}`, 2, { ownDatabase: true }),
      port: await freePort(),
      process: undefined,
    }
    regions.set(id, r)
    await launch(id, r)
  }
  const control = createServer((req, res): void => {
    const url = new URL(req.url ?? '/', 'http://control')
    const [, , id, action] = url.pathname.split('/')
    const r = id ? regions.get(id) : undefined
    const answer = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (!r) {
      answer(404, { error: `no region ${id}` })
      return
    }
    const work = async () => {
      if (action === 'stop') {
        await r.process?.stop(url.searchParams.get('signal') === 'KILL' ? 'SIGKILL' : 'SIGTERM')
        return { stopped: id }
      }
      if (action === 'start') {
        await launch(String(id), r)
        return { started: id }
      }
      if (action === 'payments') {
        const { rows } = await r.db.pool.query<{ n: number }>(
          'select count(*)::int as n from idempotency_keys where merchant_id = $1 and key = $2',
          [url.searchParams.get('merchant'), url.searchParams.get('key')],
        )
        return { count: rows[0]?.n ?? 0 }
      }
      if (action === 'poison') {
        // A real fault for one merchant only: its payment rows fail to insert with an error
        // that is not an outage (SQLSTATE P0001), so the region answers a plain 500.
        await r.db.pool.query(`
          create or replace function meridian_test_poison() returns trigger language plpgsql as $$
          begin
            if new.merchant_id = 'mer_poison' then raise exception 'poisoned for a test'; end if;
            return new;
          end $$;
          drop trigger if exists meridian_test_poison on payments;
          create trigger meridian_test_poison before insert on payments
            for each row execute function meridian_test_poison();`)
        return { poisoned: id }
      }
      if (action === 'database') {
        // An outage of this region's database only: connections refused, open ones dropped.
        const reachable = url.searchParams.get('reachable') !== 'false'
        await setDatabaseReachable(admin, r.db.schema, reachable)
        return { database: id, reachable }
      }
      if (action === 'counts') {
        // Rows of every table: a refused request leaves every one as it was (the fuzz suite).
        const { rows } = await r.db.pool.query<{ table_name: string }>(
          `select table_name from information_schema.tables where table_schema = current_schema()
           and table_type = 'BASE TABLE' and table_name not like 'schema_%' order by table_name`,
        )
        const counts = await r.db.pool.query(
          `select ${rows.map((t) => `(select count(*) from "${t.table_name}")::int as "${t.table_name}"`).join(', ')}`,
        )
        return counts.rows[0]
      }
      throw new Error(`unknown action ${action}`)
    }
    work().then(
      (body) => answer(200, body),
      (error: unknown) => answer(500, { error: String(error) }),
    )
  })
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r))
  const regionOrigins = Object.fromEntries(
    [...regions].map(([id, r]) => [id, `http://127.0.0.1:${r.port}`]),
  )
  const ready = {
    event: 'edge-harness.ready',
    regionOrigins,
    edgeSecret,
    upstashUrl: upstash.url,
    upstashToken: upstash.token,
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    bindings: toEnv({
      edgeSecret,
      regionOrigins,
      upstash: { url: upstash.url, token: upstash.token },
      // Short enough that the tests see limits, timeouts and failback within seconds.
      rateLimitPerSec: 20,
      regionTimeoutMs: 1000,
      failbackHealthyMs: 300,
      failbackRampMs: 600,
    }),
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`)
  const stop = async () => {
    control.close()
    for (const r of regions.values()) {
      await r.process?.stop()
      await r.db.close()
    }
    await upstash.close()
    await admin.end()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop())
}

exitWithParent()
main().catch((error: unknown) => {
  process.stderr.write(
    `edge test harness: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
})
