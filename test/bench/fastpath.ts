/**
 * `pnpm bench:fastpath`: how fast one region accepts payments with real Postgres (durable group
 * commits, synchronous_commit on), Redis and Kafka on this machine. Prints:
 *   1. CPU time per accepted payment of every process on the path (API, relay, PostgreSQL,
 *      Redis, the Kafka broker, the load generator) at a fixed open-loop rate, and their sum;
 *   2. max sustained accepted payments/s (closed loop, best of a few concurrencies);
 *   3. p50/p99/p999 under open-loop load at 1,000/s and at half the maximum, the fast path and a
 *      bare Hono endpoint interleaved over the same seconds, and the ratio.
 * Every run is saved as JSON (`--out <file>`, default under .meridian/bench/); `--compare <file>`
 * prints every figure beside a saved run's; `--cpu-only` measures the CPU table alone. Not a test: it asserts nothing and prints figures.
 */

import { execFileSync } from 'node:child_process'
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
import {
  benchKafkaClient,
  type CpuSource,
  pidsNamed,
  processCpuSec,
  processGroupPids,
  startCpuMeter,
} from './cpu.ts'
import {
  comparison,
  cpuSums,
  type FastpathRecord,
  loadRecord,
  saveRecord,
} from './fastpath-record.ts'
import {
  closedLoop,
  errorsCell,
  openLoop,
  openLoopInterleaved,
  type PreparedRequest,
  summarize,
} from './load.ts'

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

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

/** The rate the CPU table is measured at: fixed, so runs of different speeds compare. */
const cpuRatePerSec = Number(process.env.BENCH_CPU_RATE ?? 1000)
/** How long to let the relay catch up after a run before its work is counted as done. */
const drainMsMax = 60_000

async function main(): Promise<void> {
  const compareWith = argValue('--compare')
  // Only the CPU table (a minute, not five): for trying a change; the saved run says so.
  const cpuOnly = process.argv.includes('--cpu-only')
  const before = compareWith ? loadRecord(compareWith) : undefined
  const out =
    argValue('--out') ??
    `.meridian/bench/fastpath-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
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
    // BENCH_PROFILE=dir: the API and the relay write their CPU profiles there when they stop
    // (one file each, named by pid): where the time goes.
    const profiling = process.env.BENCH_PROFILE
      ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] }
      : {}
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
      ...profiling,
    })
    services.push(region)
    const relay = await spawnService({
      name: 'bench relay',
      entry: regionSettings.entryPoint,
      readyEvent: 'region.ready',
      env: regionSettings.toEnv({ ...settings, roles: { relay: true } }),
      ...profiling,
    })
    services.push(relay)
    const bare = await spawnService({
      name: 'bare hono',
      entry: 'test/bench/bare-server.ts',
      readyEvent: 'bare.ready',
      env: {},
    })
    services.push(bare)
    const origin = String(region.ready.url)
    log(`region up at ${origin} (Kafka client: ${benchKafkaClient()}); preparing signed requests…`)

    const backlog = async () =>
      (
        await pool.query<{ n: number }>(
          'select count(*)::int as n from outbox where sent_at is null',
        )
      ).rows[0]?.n ?? 0
    /** Wait until the relay has shipped every payment accepted so far: its work is part of theirs. */
    const drained = async () => {
      const deadline = Date.now() + drainMsMax
      while ((await backlog()) > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100))
    }
    const pgPids = async (where: string) =>
      (
        await pool.query<{ pid: number }>(
          `select pid from pg_stat_activity where ${where} and pid <> pg_backend_pid()`,
        )
      ).rows.map((r) => r.pid)
    const cpuSources: CpuSource[] = [
      { name: 'API', pids: () => [region.pid] },
      { name: 'relay', pids: () => [relay.pid] },
      // Each process names its connections (application_name): the backends serving each.
      {
        name: 'PostgreSQL backends of the API',
        pids: () => pgPids(`datname = 'meridian_bench' and application_name like '% api'`),
      },
      {
        name: 'PostgreSQL backends of the relay',
        pids: () => pgPids(`datname = 'meridian_bench' and application_name like '% relay'`),
      },
      {
        name: 'PostgreSQL WAL writer, checkpointer, bgwriter',
        pids: () => pgPids(`backend_type in ('walwriter', 'checkpointer', 'background writer')`),
        shared: true,
      },
      { name: 'Redis', pids: () => pidsNamed('redis-server'), shared: true },
      {
        name: 'Kafka broker',
        pids: () => {
          const group = broker?.processGroup
          return group === undefined ? [] : processGroupPids(group)
        },
      },
    ]

    const warm = await prepare('warm', 20_000)
    await closedLoop(origin, 32, 3, cycle(warm))
    await drained()

    // 1. CPU per payment at a fixed rate, the relay's shipping of those payments included.
    const cpuRequests = cycle(await prepare('cpu', cpuRatePerSec * durationSec))
    const meter = await startCpuMeter(cpuSources)
    const cpuRun = summarize(await openLoop(origin, cpuRatePerSec, durationSec, cpuRequests), 202)
    await drained()
    const accepted = Math.max(1, cpuRun.statuses[202] ?? 0)
    const cpuRows = (await meter.stop()).map((r) => ({
      ...r,
      usPerPayment: (r.cpuSec * 1e6) / accepted,
    }))

    // 2. The most it sustains.
    let best = { connections: 0, okPerSec: 0, p99: 0 }
    const closedRows: string[] = []
    for (const connections of cpuOnly ? [] : [16, 64, 128]) {
      const requests = await prepare(`max${connections}`, 30_000 * durationSec)
      const s = summarize(await closedLoop(origin, connections, durationSec, cycle(requests)), 202)
      closedRows.push(
        `closed loop, ${connections} connections: ${fmt(s.okPerSec)} accepted/s, p99 ${fmt(s.p99)} ms, errors ${errorsCell(s)}`,
      )
      if (s.okPerSec > best.okPerSec) best = { connections, okPerSec: s.okPerSec, p99: s.p99 }
      await drained()
    }

    // 3. Latency against bare Hono, interleaved over the same seconds.
    const latency: FastpathRecord['latency'][number][] = []
    for (const rate of cpuOnly ? [] : [1000, Math.floor(best.okPerSec / 2)]) {
      const fastRequests = cycle(await prepare(`open${rate}`, rate * durationSec))
      const bareRequests = cycle(await prepare(`bare${rate}`, rate * durationSec))
      // The API's and bare Hono's own CPU over the same seconds: what HTTP alone costs here.
      const cpuBefore = [processCpuSec(region.pid), processCpuSec(bare.pid)]
      const [fast, base] = (
        await openLoopInterleaved(
          [
            { origin, next: fastRequests },
            { origin: String(bare.ready.url), next: bareRequests },
          ],
          rate,
          durationSec,
        )
      ).map((r) => summarize(r, 202))
      if (!fast || !base) throw new Error('an interleaved run lost a target')
      const figures = (x: typeof fast) => ({
        okPerSec: x.okPerSec,
        p50: x.p50,
        p99: x.p99,
        p999: x.p999,
        errors: errorsCell(x),
      })
      const perRequest = (pid: number, i: number, n: number) =>
        ((processCpuSec(pid) - (cpuBefore[i] ?? 0)) * 1e6) / Math.max(1, n)
      latency.push({
        ratePerSec: rate,
        fast: figures(fast),
        bare: figures(base),
        cpuUsPerRequest: {
          api: perRequest(region.pid, 0, fast.sent),
          bare: perRequest(bare.pid, 1, base.sent),
        },
      })
      await drained()
    }

    const record: FastpathRecord = {
      version: 1,
      at: new Date().toISOString(),
      commit: gitCommit(),
      secondsPerRun: durationSec,
      cpu: { ratePerSec: cpuRatePerSec, accepted, rows: cpuRows },
      maxSustained: { okPerSec: best.okPerSec, connections: best.connections },
      latency,
    }
    printRecord(record, cpuRun, closedRows, await backlog())
    for (const [message, n] of apiErrors) log(`api logged ×${n}: ${message}`)
    saveRecord(out, record)
    log('')
    log(`saved to ${out}; compare a later run with: pnpm bench:fastpath --compare ${out}`)
    if (before) {
      log('')
      log(`change against ${compareWith}:`)
      for (const line of comparison(before, record)) log(line)
    }
  } finally {
    await Promise.all(services.map((s) => s.stop()))
    await pool.query(`drop schema if exists ${schema} cascade`)
    await pool.end()
    await broker?.destroy()
  }
}

function printRecord(
  record: FastpathRecord,
  cpuRun: ReturnType<typeof summarize>,
  closedRows: readonly string[],
  backlogAtEnd: number,
): void {
  log('')
  log(
    `CPU per accepted payment at ${record.cpu.ratePerSec}/s open loop for ${record.secondsPerRun} s (${record.cpu.accepted} accepted, p99 ${fmt(cpuRun.p99)} ms, errors ${errorsCell(cpuRun)}), the relay's shipping included:`,
  )
  log('')
  log('| process | CPU s | µs per payment |')
  log('| --- | --- | --- |')
  for (const r of record.cpu.rows) {
    const note = r.shared ? ' (shared with the machine)' : ''
    log(`| ${r.name}${note} | ${r.cpuSec.toFixed(2)} | ${r.usPerPayment.toFixed(0)} |`)
  }
  const sums = cpuSums(record)
  log(`| sum, the path (without the load generator) | | ${sums.path.toFixed(0)} |`)
  log(`| sum, all | | ${sums.all.toFixed(0)} |`)
  log('')
  for (const row of closedRows) log(row)
  log(
    `max sustained: ${fmt(record.maxSustained.okPerSec)} accepted payments/s (closed loop, ${record.maxSustained.connections} connections)`,
  )
  log('')
  log(
    'fast path and bare Hono interleaved (request i to server i mod 2), each at the offered rate:',
  )
  log('')
  log('| offered | server | accepted/s | p50 ms | p99 ms | p999 ms | errors |')
  log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const l of record.latency) {
    for (const [name, x] of [
      ['fast path', l.fast],
      ['bare Hono', l.bare],
    ] as const) {
      log(
        `| ${l.ratePerSec}/s | ${name} | ${fmt(x.okPerSec)} | ${fmt(x.p50)} | ${fmt(x.p99)} | ${fmt(x.p999)} | ${x.errors} |`,
      )
    }
    log(
      `| ${l.ratePerSec}/s | ratio | | ${fmt(l.fast.p50 / l.bare.p50)}× | ${fmt(l.fast.p99 / l.bare.p99)}× | ${fmt(l.fast.p999 / l.bare.p999)}× | |`,
    )
  }
  log('')
  for (const l of record.latency) {
    log(
      `CPU per request at ${l.ratePerSec}/s: API ${l.cpuUsPerRequest.api.toFixed(0)} µs, bare Hono ${l.cpuUsPerRequest.bare.toFixed(0)} µs (what HTTP on Node costs here)`,
    )
  }
  log('')
  log(`outbox backlog at the end: ${backlogAtEnd} (the relay keeps up when this is near 0)`)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:fastpath: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
