/**
 * `pnpm bench:edge`: what the edge hop costs and how fast it fails over, on real workerd in front
 * of real region processes. Prints:
 *   1. p50/p99 of GET and POST through the edge, through a pass-through worker on the same
 *      workerd (the runtime's own hop), through a do-nothing Node proxy (the price of any extra
 *      process on the path on this machine: the floor under every hop), and straight to the
 *      region (signed as the edge signs), at a steady open-loop rate; what the edge adds over
 *      direct and over each floor;
 *   2. time from SIGKILL of the home region's API to the first request answered by another
 *      region, under steady traffic (several runs).
 * The edge runs on one workerd as Cloudflare runs it (BENCH_EDGE_RUNTIME=workerd, the default);
 * BENCH_EDGE_RUNTIME=wrangler-dev measures what `pnpm start` runs instead, dev proxy included.
 */

import { randomBytes } from 'node:crypto'
import { edgeSignatureHeader, fleet, Secret, signEdgeRequest } from '@meridian/core'
import {
  edgeRuntimes,
  freePort,
  parseEdgeRuntime,
  type ServiceProcess,
  spawnService,
  startEdge,
  upstashSettings,
} from '@meridian/local'
import { startPassThroughWorker } from '@meridian/local/edge-workerd'
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
import { percentile } from './load.ts'

const log = (line: string) => process.stdout.write(`${line}\n`)
const seconds = Number(process.env.BENCH_SECONDS ?? 30)
const ratePerSec = Number(process.env.BENCH_RATE ?? 100)
const warmUpSeconds = 10
const fmt = (n: number) => n.toFixed(2)
const runtime =
  parseEdgeRuntime(process.env.BENCH_EDGE_RUNTIME ?? 'workerd') ??
  refuse(`BENCH_EDGE_RUNTIME must be one of ${edgeRuntimes.join(', ')}`)

function refuse(message: string): never {
  process.stderr.write(`bench:edge: ${message}\n`)
  process.exit(2)
}

/** Server-Timing durations the edge reported, per step, over a run. */
const serverTiming = new Map<string, number[]>()

interface Timed {
  readonly ms: number
  readonly status: number
  readonly region: string | null
  /** The region's own handling time (its Server-Timing `app`), when it answered. */
  readonly appMs: number | undefined
}

async function timed(url: string, init: RequestInit, record = false): Promise<Timed> {
  const start = performance.now()
  const res = await fetch(url, init)
  await res.arrayBuffer()
  const ms = performance.now() - start
  let appMs: number | undefined
  for (const part of (res.headers.get('server-timing') ?? '').split(',')) {
    const [name, dur] = part.trim().split(';dur=')
    if (!name || !dur) continue
    if (name === 'app') appMs = Number(dur)
    if (!record) continue
    const durations = serverTiming.get(name) ?? []
    durations.push(Number(dur))
    serverTiming.set(name, durations)
  }
  return { ms, status: res.status, region: res.headers.get('meridian-region'), appMs }
}

type Make = (i: number) => Promise<[string, RequestInit]>

/** One path's 2xx answers, sorted: whole latency, and latency outside the region's own work. */
interface PathSamples {
  readonly total: Float64Array
  readonly outside: Float64Array
  /** What its other answers were (`404×3`), so a path that failed says why. */
  readonly failures: string
}

/**
 * Open-loop requests at `ratePerSec` in all, the paths taking turns (request i goes to path
 * i mod n), for `secondsPerPath` each: every path sees the same seconds of the machine, so a
 * difference between them is the paths' and not a noisy neighbour's. The first path's
 * Server-Timing steps are recorded.
 */
async function interleaved(
  paths: readonly Make[],
  secondsPerPath = seconds,
): Promise<PathSamples[]> {
  const total: number[][] = paths.map(() => [])
  const outside: number[][] = paths.map(() => [])
  const failed = paths.map(() => new Map<string, number>())
  const pending: Promise<void>[] = []
  const start = performance.now()
  for (let i = 0; i < secondsPerPath * ratePerSec * paths.length; i++) {
    const due = start + (i * 1000) / ratePerSec
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const which = i % paths.length
    const make = paths[which] as Make
    pending.push(
      make(i)
        .then(([url, init]) => timed(url, init, which === 0))
        .catch((error: unknown) => ({ status: -1, ms: 0, appMs: undefined, error }))
        .then((r) => {
          if (r.status >= 300 || r.status < 0) {
            const what = r.status < 0 ? 'no answer' : String(r.status)
            failed[which]?.set(what, (failed[which]?.get(what) ?? 0) + 1)
            return
          }
          total[which]?.push(r.ms)
          if (r.appMs !== undefined) outside[which]?.push(r.ms - r.appMs)
        }),
    )
  }
  await Promise.all(pending)
  const sorted = (xs: number[] | undefined) => Float64Array.from(xs ?? []).sort()
  return paths.map((_, k) => ({
    total: sorted(total[k]),
    outside: sorted(outside[k]),
    failures: [...(failed[k] ?? [])].map(([what, n]) => `${what}×${n}`).join(', '),
  }))
}

async function main(): Promise<void> {
  const secret = randomBytes(24).toString('hex')
  const webhookSecretKeys = newKeyRingText()
  const url = withDatabase(databaseUrl(), 'meridian_bench')
  await ensureDatabase(url)
  const tag = Date.now().toString(36)
  const regions: { id: string; schema: string; port: number; process?: ServiceProcess }[] = []
  const pool = createPool({ url, poolSizeMax: 2 })
  const launch = async (r: (typeof regions)[number]) => {
    r.process = await spawnService({
      name: `bench ${r.id}`,
      entry: regionSettings.entryPoint,
      readyEvent: 'region.ready',
      env: regionSettings.toEnv({
        region: r.id,
        port: r.port,
        databaseUrl: url,
        databaseSchema: r.schema,
        redisPrefix: `bench:${r.schema}:`,
        kafkaBrokers: ['127.0.0.1:9'],
        roles: { api: true },
        edgeSecret: new Secret(secret),
        webhookSecretKeys: keyRingFromText(webhookSecretKeys),
        logLevel: 'error',
      }),
    })
  }
  // The limiter's server in a process of its own: sharing this event loop would delay the load
  // generator's clock on every edge request and not on direct ones.
  const upstashToken = randomBytes(16).toString('hex')
  const upstashProcess = await spawnService({
    name: 'upstash stand-in',
    entry: upstashSettings.entryPoint,
    readyEvent: 'upstash.ready',
    env: upstashSettings.toEnv({ token: upstashToken }),
  })
  const upstash = { url: String(upstashProcess.ready.url), token: upstashToken }
  let edge: Awaited<ReturnType<typeof startEdge>> | undefined
  let passThrough: Awaited<ReturnType<typeof startPassThroughWorker>> | undefined
  let nodeHop: ServiceProcess | undefined
  try {
    for (const { id } of fleet.regions) {
      const schema = `edgebench_${id.replace('-', '_')}_${tag}`
      const p = createPool({ url, schema, poolSizeMax: 1 })
      await ensureSchema(p, schema)
      await migrate(p, regionDatabaseMigrations, schema)
      await p.end()
      const r = { id, schema, port: await freePort() }
      regions.push(r)
      await launch(r)
    }
    edge = await startEdge({
      port: await freePort(),
      stateDir: `/tmp/meridian-edge-bench-${tag}`,
      edgeSecret: secret,
      regionOrigins: Object.fromEntries(regions.map((r) => [r.id, `http://127.0.0.1:${r.port}`])),
      upstash,
      runtime,
      settings: { rateLimitPerSec: 100_000, failbackHealthyMs: 600_000 },
      log,
    })
    const key = edge.keys.mer_acme
    const home = regions.find((r) => r.id === 'us-east')
    if (!key || !home) throw new Error('no key or home region')
    const homeUrl = `http://127.0.0.1:${home.port}`
    passThrough = await startPassThroughWorker(homeUrl)
    const floorUrl = passThrough.url
    nodeHop = await spawnService({
      name: 'node pass-through',
      entry: 'test/bench/pass-through-node.ts',
      readyEvent: 'pass-through.ready',
      env: { ORIGIN: homeUrl },
    })
    const nodeHopUrl = String(nodeHop.ready.url)
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
    const body = (i: number) =>
      JSON.stringify({ amount: 1000 + i, currency: 'usd', payment_method: `tok_edgebench_${i}` })
    const direct = async (
      method: string,
      path: string,
      b: string,
      i: number,
      base = homeUrl,
    ): Promise<[string, RequestInit]> => [
      `${base}${path}`,
      {
        method,
        headers: {
          'content-type': 'application/json',
          ...(method === 'POST' ? { 'idempotency-key': `direct-${tag}-${i}` } : {}),
          [edgeSignatureHeader]: await signEdgeRequest(secret, {
            method,
            path,
            merchantId: 'mer_acme',
            epoch: 1,
            region: 'us-east',
            body: b,
          }),
        },
        ...(method === 'POST' ? { body: b } : {}),
      },
    ]
    const created = (await (
      await fetch(`${edge.url}/v1/payments`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': `seed-${tag}` },
        body: body(0),
      })
    ).json()) as { id: string }
    const readPath = `/v1/payments/${created.id}`
    const paths = {
      GET: [
        async () => [`${edge?.url}${readPath}`, { headers: auth }],
        (i) => direct('GET', readPath, '', i, floorUrl),
        (i) => direct('GET', readPath, '', i, nodeHopUrl),
        (i) => direct('GET', readPath, '', i),
      ],
      POST: [
        async (i) => [
          `${edge?.url}/v1/payments`,
          {
            method: 'POST',
            headers: { ...auth, 'idempotency-key': `edge-${tag}-${i}` },
            body: body(i),
          },
        ],
        (i) => direct('POST', '/v1/payments', body(i), i, floorUrl),
        (i) => direct('POST', '/v1/payments', body(i), i, nodeHopUrl),
        (i) => direct('POST', '/v1/payments', body(i), i),
      ],
    } satisfies Record<string, Make[]>
    // Warm every path (JIT, connections, KV and script caches): 10 s in all.
    await interleaved(paths.GET, warmUpSeconds / paths.GET.length)
    serverTiming.clear()

    const names = ['edge', 'workerd-hop', 'node-hop', 'direct'] as const
    log(
      `edge hop (${runtime}): ${ratePerSec} requests/s open loop, the ${names.length} paths of a method taking turns, ${seconds} s per row, mer_acme → us-east`,
    )
    log(
      'paths: edge; workerd-hop, a worker on the same workerd that only passes requests on; node-hop, a do-nothing Node proxy (one more process on the path); direct, signed as the edge signs',
    )
    log(
      "'outside the region': each request's latency less the region's own handling time (its Server-Timing `app`), which no hop changes",
    )
    log('| request | path | p50 ms | p99 ms | outside the region p50 ms | p99 ms | not 2xx |')
    log('| --- | --- | --- | --- | --- | --- | --- |')
    const rows: Record<string, PathSamples> = {}
    for (const [method, makes] of Object.entries(paths)) {
      const measured = await interleaved(makes)
      names.forEach((name, k) => {
        rows[`${method} ${name}`] = measured[k] ?? {
          total: new Float64Array(),
          outside: new Float64Array(),
          failures: 'not measured',
        }
      })
    }
    const q = (xs: Float64Array, p: number) => fmt(percentile(xs, p))
    for (const [name, s] of Object.entries(rows)) {
      const [method, path] = name.split(' ')
      log(
        `| ${method} | ${path} | ${q(s.total, 50)} | ${q(s.total, 99)} | ${q(s.outside, 50)} | ${q(s.outside, 99)} | ${s.failures || '0'} |`,
      )
    }
    const p = (xs: number[], q: number) => percentile(Float64Array.from(xs).sort(), q)
    log(
      `inside the edge (Server-Timing p50/p99, whole ms: workerd's clock only moves on I/O): ${[...serverTiming].map(([k, v]) => `${k} ${p(v, 50)}/${p(v, 99)} ms`).join(', ')}`,
    )
    const added = (over: Float64Array, under: Float64Array) =>
      `p50 ${fmt(percentile(over, 50) - percentile(under, 50))} ms, p99 ${fmt(percentile(over, 99) - percentile(under, 99))} ms`
    const proxyNote = runtime === 'wrangler-dev' ? "; wrangler dev's proxy" : ''
    for (const method of ['GET', 'POST']) {
      const [e, w, n, d] = names.map((path) => rows[`${method} ${path}`])
      if (!e || !w || !n || !d) continue
      log(
        `${method}: the edge hop adds ${added(e.outside, d.outside)} outside the region; end to end ${added(e.total, d.total)}`,
      )
      // The target (issue 21): what the edge adds at p99 within 1.3× of what workerd's own hop adds.
      const p99Added = (x: PathSamples) => percentile(x.outside, 99) - percentile(d.outside, 99)
      log(
        `${method}:   at p99 that is ${fmt(p99Added(e) / p99Added(w))}× what the pass-through worker on the same workerd adds (target ≤ 1.3×)`,
      )
      log(
        `${method}:   any hop on this machine (a do-nothing Node proxy) adds ${added(n.outside, d.outside)}`,
      )
      log(
        `${method}:   workerd's own hop (pass-through worker) adds ${added(w.outside, d.outside)}`,
      )
      log(
        `${method}:   the edge's work (auth, limiter, signing${proxyNote}) adds ${added(e.outside, w.outside)} to workerd's hop`,
      )
    }

    log('')
    log('failover: SIGKILL the home region (us-east) under 100 requests/s through the edge')
    const times: number[] = []
    for (let run = 0; run < 3; run++) {
      let firstOtherMs: number | undefined
      let killedAt = 0
      let failed = 0
      let i = 0
      const traffic = (async () => {
        while (firstOtherMs === undefined) {
          const r = await timed(`${edge?.url}/v1/payments`, {
            method: 'POST',
            headers: { ...auth, 'idempotency-key': `fo-${tag}-${run}-${i}` },
            body: body(i++),
          }).catch(() => undefined)
          if (killedAt > 0) {
            if (r && r.status === 202 && r.region !== 'us-east')
              firstOtherMs = performance.now() - killedAt
            else if (!r || r.status >= 500) failed++
          }
          await new Promise((res) => setTimeout(res, 10))
        }
      })()
      await new Promise((r) => setTimeout(r, 500))
      killedAt = performance.now()
      await home.process?.stop('SIGKILL')
      await traffic
      times.push(firstOtherMs ?? Number.NaN)
      log(
        `  run ${run + 1}: first request served by another region ${fmt(firstOtherMs ?? Number.NaN)} ms after the kill; failed requests in between: ${failed}`,
      )
      await launch(home)
      // Let the edge see the region healthy again before the next run.
      await edge.probe()
      await new Promise((r) => setTimeout(r, 500))
    }
    log(`failover time: worst ${fmt(Math.max(...times))} ms (target ≤ 3,000 ms)`)
  } finally {
    await edge?.stop()
    await passThrough?.stop()
    await nodeHop?.stop()
    await Promise.all(regions.map((r) => r.process?.stop()))
    for (const r of regions) await pool.query(`drop schema if exists ${r.schema} cascade`)
    await pool.end()
    await upstashProcess.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:edge: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
