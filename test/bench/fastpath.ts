/**
 * `pnpm bench:fastpath`: how fast one region accepts payments with real Postgres (durable group
 * commits, synchronous_commit on), Redis and Kafka on this machine. Prints:
 *   1. max sustained accepted payments/s (closed loop, best of a few concurrencies);
 *   2. p50/p99/p999 under open-loop load at 50% of that rate, and at 5,000/s;
 *   3. the same open-loop runs against a bare Hono endpoint, and the ratio.
 * Not a test: it asserts nothing and prints figures.
 */

import { randomBytes } from 'node:crypto'
import { edgeSignatureHeader, Secret, signEdgeRequest } from '@meridian/core'
import {
  describeProblems,
  findProblems,
  KafkaBroker,
  type ServiceProcess,
  spawnService,
} from '@meridian/local'
import {
  createPool,
  databaseUrl,
  ensureDatabase,
  ensureSchema,
  migrate,
  withDatabase,
} from '@meridian/platform'
import { keyRingFromText, newKeyRingText, regionSettings } from '@meridian/regions'
import { regionDatabaseMigrations } from '@meridian/replication'
import { benchKafkaClient, processCpuSec } from './cpu.ts'
import { closedLoop, errorsCell, openLoop, type PreparedRequest, summarize } from './load.ts'

const log = (line: string) => process.stdout.write(`${line}\n`)
const secret = randomBytes(24).toString('hex')
const merchants = Array.from({ length: 100 }, (_, i) => `mer_bench_${i}`)
const durationSec = Number(process.env.BENCH_SECONDS ?? 10)

async function prepare(label: string, count: number): Promise<PreparedRequest[]> {
  const out: PreparedRequest[] = []
  for (let i = 0; i < count; i++) {
    const merchantId = merchants[i % merchants.length] ?? 'mer_bench_0'
    const body = JSON.stringify({
      amount: 1000 + (i % 5000),
      currency: 'usd',
      payment_method: `tok_${label}_${i}`,
    })
    out.push({
      path: '/v1/payments',
      body,
      headers: {
        'content-type': 'application/json',
        'idempotency-key': `${label}-${i}`,
        [edgeSignatureHeader.toLowerCase()]: await signEdgeRequest(secret, {
          method: 'POST',
          path: '/v1/payments',
          merchantId,
          epoch: 1,
          region: 'us-east',
          body,
        }),
      },
    })
  }
  return out
}

function cycle(requests: PreparedRequest[]): (i: number) => PreparedRequest {
  return (i) => {
    const r = requests[i]
    if (!r) throw new Error(`prepared ${requests.length} requests, load asked for #${i}`)
    return r
  }
}

function countErrorLine(counts: Map<string, number>, line: string): void {
  if (!line.startsWith('{')) return
  let entry: { level?: string; msg?: string; error?: { name?: string; message?: string } }
  try {
    entry = JSON.parse(line) as typeof entry
  } catch {
    return
  }
  if (entry.level !== 'error') return
  const error = entry.error
  const key = error ? `${entry.msg}: ${error.name}: ${error.message}` : String(entry.msg)
  counts.set(key, (counts.get(key) ?? 0) + 1)
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a')

async function main(): Promise<void> {
  const problems = await findProblems()
  if (problems.length > 0) throw new Error(describeProblems(problems))
  const broker = process.env.KAFKA_BROKERS
    ? undefined
    : await KafkaBroker.start({ name: 'bench', log })
  const url = withDatabase(databaseUrl(), 'meridian_bench')
  await ensureDatabase(url)
  const schema = `bench_${Date.now().toString(36)}`
  const pool = createPool({ url, schema, poolSizeMax: 2 })
  await ensureSchema(pool, schema)
  await migrate(pool, regionDatabaseMigrations, schema)
  const services: ServiceProcess[] = []
  // What the API logged at error level, by message: the cause behind any 5xx in the tables.
  const apiErrors = new Map<string, number>()
  try {
    // API and relay in separate processes, as deployed (infra runs each role as its own service).
    const settings = {
      region: 'us-east',
      databaseUrl: url,
      databaseSchema: schema,
      poolSizeMax: 12,
      redisPrefix: `meridian:bench:${schema}:`,
      kafkaBrokers: [process.env.KAFKA_BROKERS ?? broker?.bootstrap ?? ''],
      eventsTopic: `bench-${schema}`,
      edgeSecret: new Secret(secret),
      webhookSecretKeys: keyRingFromText(newKeyRingText()),
      logLevel: 'error',
    } as const
    const region = await spawnService({
      name: 'bench api',
      entry: regionSettings.entryPoint,
      readyEvent: 'region.ready',
      env: regionSettings.toEnv({ ...settings, roles: { api: true } }),
      onLine: (line) => countErrorLine(apiErrors, line),
      // BENCH_PROFILE=dir writes the API's CPU profile there when it stops (where the time goes).
      ...(process.env.BENCH_PROFILE
        ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] }
        : {}),
    })
    services.push(region)
    const relay = await spawnService({
      name: 'bench relay',
      entry: regionSettings.entryPoint,
      readyEvent: 'region.ready',
      env: regionSettings.toEnv({ ...settings, roles: { relay: true } }),
    })
    services.push(relay)
    const origin = String(region.ready.url)
    log(`region up at ${origin} (Kafka client: ${benchKafkaClient()}); preparing signed requests…`)
    // The relay is the Kafka producer: its CPU time is what the client library costs.
    const relayCpuStart = processCpuSec(relay.pid)
    const relayWallStart = performance.now()

    const warm = await prepare('warm', 20_000)
    await closedLoop(origin, 32, 3, cycle(warm))

    let best = { connections: 0, okPerSec: 0, p99: 0 }
    for (const connections of [16, 64, 128]) {
      const requests = await prepare(`max${connections}`, 30_000 * durationSec)
      const s = summarize(await closedLoop(origin, connections, durationSec, cycle(requests)), 202)
      log(
        `closed loop, ${connections} connections: ${fmt(s.okPerSec)} accepted/s, p99 ${fmt(s.p99)} ms, errors ${errorsCell(s)}`,
      )
      if (s.okPerSec > best.okPerSec) best = { connections, okPerSec: s.okPerSec, p99: s.p99 }
    }

    const bare = await spawnService({
      name: 'bare hono',
      entry: 'test/bench/bare-server.ts',
      readyEvent: 'bare.ready',
      env: {},
    })
    services.push(bare)
    const rows: string[] = []
    for (const rate of [Math.floor(best.okPerSec / 2), 5000]) {
      const fast = summarize(
        await openLoop(
          origin,
          rate,
          durationSec,
          cycle(await prepare(`open${rate}`, rate * durationSec)),
        ),
        202,
      )
      const base = summarize(
        await openLoop(
          String(bare.ready.url),
          rate,
          durationSec,
          cycle(await prepare(`bare${rate}`, rate * durationSec)),
        ),
        202,
      )
      rows.push(
        `| ${rate}/s | fast path | ${fmt(fast.okPerSec)} | ${fmt(fast.p50)} | ${fmt(fast.p99)} | ${fmt(fast.p999)} | ${errorsCell(fast)} |`,
        `| ${rate}/s | bare Hono | ${fmt(base.okPerSec)} | ${fmt(base.p50)} | ${fmt(base.p99)} | ${fmt(base.p999)} | ${errorsCell(base)} |`,
        `| ${rate}/s | ratio | | ${fmt(fast.p50 / base.p50)}× | ${fmt(fast.p99 / base.p99)}× | ${fmt(fast.p999 / base.p999)}× | |`,
      )
    }
    const relayCpu = processCpuSec(relay.pid) - relayCpuStart
    const relayWall = (performance.now() - relayWallStart) / 1000
    const backlog = await pool.query<{ n: number }>(
      'select count(*)::int as n from outbox where sent_at is null',
    )
    log('')
    log(
      `max sustained: ${fmt(best.okPerSec)} accepted payments/s (closed loop, ${best.connections} connections; target ≥ 10,000/s)`,
    )
    log('')
    log('| offered | server | accepted/s | p50 ms | p99 ms | p999 ms | errors |')
    log('| --- | --- | --- | --- | --- | --- | --- |')
    for (const r of rows) log(r)
    log('')
    log(`outbox backlog at the end: ${backlog.rows[0]?.n} (the relay keeps up when this is near 0)`)
    // Runs accept different numbers of payments: CPU per event relayed compares them.
    const relayed = await pool.query<{ n: number }>(
      'select count(*)::int as n from outbox where sent_at is not null',
    )
    const events = relayed.rows[0]?.n ?? 0
    log(
      `relay CPU (Kafka client ${benchKafkaClient()}): ${relayCpu.toFixed(2)} s over ${relayWall.toFixed(1)} s of load, ${events} events relayed, ${((relayCpu * 1e6) / Math.max(1, events)).toFixed(0)} µs per event`,
    )
    for (const [message, n] of apiErrors) log(`api logged ×${n}: ${message}`)
  } finally {
    await Promise.all(services.map((s) => s.stop()))
    await pool.query(`drop schema if exists ${schema} cascade`)
    await pool.end()
    await broker?.destroy()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:fastpath: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
