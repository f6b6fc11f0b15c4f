import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { Log, LogLevel, Miniflare, type WorkerOptions } from 'miniflare'
import {
  type EdgeOptions,
  edgeDir,
  type LocalEdge,
  localEdgeVars,
  newLocalKeys,
  offlineEnv,
  runFile,
  wrangler,
} from './edge.ts'

/** The part of wrangler's programmatic API used here: wrangler.toml as Miniflare options. */
interface WranglerApi {
  unstable_getMiniflareWorkerOptions(configPath: string): { workerOptions: WorkerOptions }
}

/** The worker exactly as `wrangler deploy` would upload it, written to `outDir/index.js`. */
async function bundle(outDir: string): Promise<string> {
  await runFile(wrangler, ['deploy', '--dry-run', '--outdir', outDir], {
    cwd: edgeDir,
    env: { ...process.env, ...offlineEnv },
  })
  return join(outDir, 'index.js')
}

function forwardLines(stream: Readable, options: EdgeOptions): void {
  createInterface({ input: stream }).on('line', (line) => {
    if (options.verbose) options.log(`[edge] ${line}`)
  })
}

/**
 * The edge on one workerd (Miniflare), configured from wrangler.toml like `wrangler dev`, but
 * with no dev proxy, request logging or inspector in the request path.
 */
export async function startEdgeOnWorkerd(options: EdgeOptions): Promise<LocalEdge> {
  const bundleDir = join(options.stateDir, 'bundle')
  const [script, api, { keys, entries }] = await Promise.all([
    bundle(bundleDir),
    import(
      pathToFileURL(join(edgeDir, 'node_modules', 'wrangler', 'wrangler-dist', 'cli.js')).href
    ) as Promise<WranglerApi>,
    newLocalKeys(),
  ])
  const { workerOptions } = api.unstable_getMiniflareWorkerOptions(join(edgeDir, 'wrangler.toml'))
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: options.port,
    cf: false,
    logRequests: false,
    log: new Log(options.verbose ? LogLevel.INFO : LogLevel.WARN),
    unsafeTriggerHandlers: true,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      forwardLines(stdout, options)
      forwardLines(stderr, options)
    },
    workers: [
      {
        ...workerOptions,
        name: 'meridian-edge',
        modulesRoot: bundleDir,
        modules: [{ type: 'ESModule', path: script }],
        bindings: { ...workerOptions.bindings, ...localEdgeVars(options) },
      },
    ],
  })
  const url = (await mf.ready).origin
  const kv = await mf.getKVNamespace('API_KEYS')
  for (const entry of entries) await kv.put(entry.key, entry.value)
  let stopped: Promise<void> | undefined
  return {
    url,
    keys,
    async probe() {
      await fetch(`${url}/cdn-cgi/handler/scheduled`).then(
        (r) => r.body?.cancel(),
        () => undefined,
      )
    },
    stop() {
      // A second stop (a test's own, then its afterAll) waits for the first.
      stopped ??= mf.dispose()
      return stopped
    },
  }
}

/**
 * The floor under any edge worker: a worker on the same workerd that only passes each request to
 * `origin` and returns the answer. What the edge adds above this is the edge's own work (auth,
 * limiter, signing); what this adds is the runtime's hop.
 */
export async function startPassThroughWorker(origin: string): Promise<{
  url: string
  stop(): Promise<void>
}> {
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    cf: false,
    logRequests: false,
    log: new Log(LogLevel.WARN),
    modules: true,
    compatibilityDate: '2026-04-01',
    bindings: { ORIGIN: origin },
    script: `export default {
      fetch(request, env) {
        const url = new URL(request.url)
        return fetch(env.ORIGIN + url.pathname + url.search, request)
      },
    }`,
  })
  const url = (await mf.ready).origin
  return { url, stop: () => mf.dispose() }
}
