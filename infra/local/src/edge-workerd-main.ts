/**
 * A worker on one workerd (Miniflare), as a child process of the topology that started it:
 * Miniflare's workerd outlives a parent killed with SIGKILL, so this process stands between them,
 * disposes workerd when its parent is gone or on SIGTERM, and exits. `WORKERD_JOB` (JSON) says
 * what to run; prints `{"event":"workerd.ready","url":…,"controlUrl":…}` when it serves.
 *
 * Requests reach the worker on a socket of its own (`url`), as on Cloudflare. Miniflare's own
 * socket (`controlUrl`) goes through its entry worker first, another isolate call per request
 * (~0.7 ms p50 here); it is kept for what only the entry worker does: the scheduled trigger.
 */

import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { exitWithParent } from '@meridian/platform'
import { Log, LogLevel, Miniflare, type MiniflareOptions, type WorkerOptions } from 'miniflare'
import { edgeDir, offlineEnv, runFile, wrangler } from './edge.ts'

export type WorkerdJob =
  | {
      readonly kind: 'edge'
      readonly port: number
      readonly bundleDir: string
      readonly vars: Readonly<Record<string, string>>
      readonly verbose: boolean
    }
  | { readonly kind: 'pass-through'; readonly origin: string }

/** The part of wrangler's programmatic API used here: wrangler.toml as Miniflare options. */
interface WranglerApi {
  unstable_getMiniflareWorkerOptions(configPath: string): { workerOptions: WorkerOptions }
}

/** The edge worker exactly as `wrangler deploy` would upload it, configured from wrangler.toml. */
async function edgeOptions(job: Extract<WorkerdJob, { kind: 'edge' }>): Promise<MiniflareOptions> {
  const [, api] = await Promise.all([
    runFile(wrangler, ['deploy', '--dry-run', '--outdir', job.bundleDir], {
      cwd: edgeDir,
      env: { ...process.env, ...offlineEnv },
    }),
    import(
      pathToFileURL(join(edgeDir, 'node_modules', 'wrangler', 'wrangler-dist', 'cli.js')).href
    ) as Promise<WranglerApi>,
  ])
  const { workerOptions } = api.unstable_getMiniflareWorkerOptions(join(edgeDir, 'wrangler.toml'))
  return {
    port: 0,
    log: new Log(job.verbose ? LogLevel.INFO : LogLevel.WARN),
    unsafeTriggerHandlers: true,
    workers: [
      {
        ...workerOptions,
        name: 'meridian-edge',
        modulesRoot: job.bundleDir,
        modules: [{ type: 'ESModule', path: join(job.bundleDir, 'index.js') }],
        bindings: { ...workerOptions.bindings, ...job.vars },
        unsafeDirectSockets: [{ host: '127.0.0.1', port: job.port }],
        stripCfConnectingIp: false,
      },
    ],
  }
}

/** A worker that only passes each request on to `origin`: the runtime's own hop. */
function passThroughOptions(origin: string): MiniflareOptions {
  return {
    port: 0,
    log: new Log(LogLevel.WARN),
    modules: true,
    compatibilityDate: '2026-04-01',
    bindings: { ORIGIN: origin },
    unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
    stripCfConnectingIp: false,
    script: `export default {
      fetch(request, env) {
        const url = new URL(request.url)
        return fetch(env.ORIGIN + url.pathname + url.search, request)
      },
    }`,
  }
}

const job = JSON.parse(process.env.WORKERD_JOB ?? 'null') as WorkerdJob | null
if (!job) {
  process.stderr.write('edge-workerd-main: set WORKERD_JOB\n')
  process.exit(2)
}
const mf = new Miniflare({
  host: '127.0.0.1',
  cf: false,
  logRequests: false,
  ...(job.kind === 'edge' ? await edgeOptions(job) : passThroughOptions(job.origin)),
})
const controlUrl = (await mf.ready).origin
const url = (await mf.unsafeGetDirectURL()).origin
const stop = () => void mf.dispose().finally(() => process.exit(0))
exitWithParent(stop)
process.once('SIGTERM', stop)
process.stdout.write(`${JSON.stringify({ event: 'workerd.ready', url, controlUrl })}\n`)
