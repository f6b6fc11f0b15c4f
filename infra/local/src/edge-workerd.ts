import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sha256Hex } from '@meridian/core'
import type { EdgeOptions, LocalEdge } from './edge.ts'
import {
  edgeLines,
  localEdgeVars,
  newLocalOperatorKey,
  onboardSampleMerchants,
  runScheduled,
} from './edge.ts'
import type { WorkerdJob } from './edge-workerd-main.ts'
import { spawnService } from './processes.ts'

/** The file that runs a worker on one workerd (its own process; see there for why). */
const workerdEntryPoint = fileURLToPath(new URL('./edge-workerd-main.ts', import.meta.url))

/** A worker on one workerd in a child process (edge-workerd-main.ts); see there for why. */
async function startWorkerd(job: WorkerdJob, onLine?: (line: string) => void) {
  const child = await spawnService({
    name: `workerd ${job.kind}`,
    entry: workerdEntryPoint,
    readyEvent: 'workerd.ready',
    env: { WORKERD_JOB: JSON.stringify(job) },
    ...(onLine ? { onLine } : {}),
  })
  return {
    url: String(child.ready.url),
    controlUrl: String(child.ready.controlUrl),
    pid: child.pid,
    stop: () => child.stop(),
  }
}

/**
 * The edge on one workerd (Miniflare), configured from wrangler.toml like `wrangler dev`, but
 * with no dev proxy, request logging or inspector in the request path.
 */
export async function startEdgeOnWorkerd(options: EdgeOptions): Promise<LocalEdge> {
  const operatorKey = newLocalOperatorKey()
  const worker = await startWorkerd(
    {
      kind: 'edge',
      port: options.port,
      bundleDir: join(options.stateDir, 'bundle'),
      vars: localEdgeVars(options, await sha256Hex(operatorKey)),
      verbose: options.verbose ?? false,
    },
    edgeLines(options),
  )
  return {
    url: worker.url,
    keys: await onboardSampleMerchants(worker.url, operatorKey),
    operatorKey,
    probe: () => runScheduled(worker.controlUrl),
    pid: worker.pid,
    stop: worker.stop,
  }
}

/**
 * The floor under any edge worker: a worker on the same workerd that only passes each request to
 * `origin` and returns the answer. What the edge adds above this is the edge's own work (auth,
 * limiter, signing); what this adds is the runtime's hop.
 */
export function startPassThroughWorker(origin: string): Promise<{
  url: string
  stop(): Promise<void>
}> {
  return startWorkerd({ kind: 'pass-through', origin })
}
