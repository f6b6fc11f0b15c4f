/**
 * Starting the local edge on either runtime: workerd through Miniflare (edge-workerd.ts, loaded
 * only when asked for) or `wrangler dev`. The shared pieces (keys, vars, log lines) are edge.ts.
 */
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { sha256Hex } from '@meridian/core'
import {
  type EdgeOptions,
  edgeDir,
  edgeLines,
  edgePollMs,
  edgeStartMsMax,
  type LocalEdge,
  localEdgeVars,
  newLocalOperatorKey,
  offlineEnv,
  onboardSampleMerchants,
  runScheduled,
  wrangler,
} from './edge.ts'
import { repoRoot } from './processes.ts'

const tied = join(repoRoot, 'infra', 'local', 'bin', 'run-tied.sh')

/** The edge worker on real workerd, in front of the local regions; see EdgeRuntime. */
export async function startEdge(options: EdgeOptions): Promise<LocalEdge> {
  mkdirSync(options.stateDir, { recursive: true })
  if (options.runtime === 'workerd') {
    const { startEdgeOnWorkerd } = await import('./edge-workerd.ts')
    return startEdgeOnWorkerd(options)
  }
  return startWranglerDev(options)
}

async function startWranglerDev(options: EdgeOptions): Promise<LocalEdge> {
  const operatorKey = newLocalOperatorKey()
  const vars = localEdgeVars(options, await sha256Hex(operatorKey))
  const args = [
    wrangler,
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--persist-to',
    options.stateDir,
    '--show-interactive-dev-session=false',
    // Below info, wrangler skips its per-request log line, which costs its Node process CPU on
    // every request even when nobody reads it; warnings and worker console output still show.
    '--log-level',
    options.verbose ? 'info' : 'warn',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ]
  const child = spawn(tied, args, {
    cwd: edgeDir,
    env: { ...process.env, ...offlineEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${options.port}`
  const recent: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll)
      reject(new Error(`wrangler dev not ready in ${edgeStartMsMax} ms:\n${recent.join('\n')}`))
    }, edgeStartMsMax)
    void exited.then(() => reject(new Error(`wrangler dev exited:\n${recent.join('\n')}`)))
    // Ready when the worker itself answers (wrangler says "Ready on" only at info level).
    const poll = setInterval(() => {
      fetch(`${url}/healthz`, { signal: AbortSignal.timeout(edgePollMs * 4) })
        .then((r) => (r.ok ? r.json() : undefined))
        .then(
          (body: unknown) => {
            // The edge's own answer, not some other server on the port.
            if (!body || typeof body !== 'object' || !('regions' in body)) return
            clearInterval(poll)
            clearTimeout(timer)
            resolve()
          },
          () => undefined,
        )
    }, edgePollMs)
    void exited.then(() => clearInterval(poll))
    const logLine = edgeLines(options)
    const onLine = (line: string) => {
      recent.push(line)
      if (recent.length > 40) recent.shift()
      logLine(line)
    }
    if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine)
    if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine)
  })
  return {
    url,
    keys: await onboardSampleMerchants(url, operatorKey),
    operatorKey,
    probe: () => runScheduled(url),
    pid: child.pid,
    async stop() {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM')
      await exited
    },
  }
}
