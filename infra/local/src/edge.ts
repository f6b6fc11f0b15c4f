import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { fleet, sha256Hex } from '@meridian/core'
import { type EdgeSettingsInput, toEnv } from '@meridian/edge/settings'
import { repoRoot, serviceLines } from './processes.ts'

export const runFile = promisify(execFile)
export const edgeDir = join(repoRoot, 'edge')
export const wrangler = join(repoRoot, 'edge', 'node_modules', '.bin', 'wrangler')
const tied = join(repoRoot, 'infra', 'local', 'bin', 'run-tied.sh')

/**
 * wrangler and miniflare stay offline: no metrics, no banner's update check, no lookup of
 * Cloudflare's `cf` object. wrangler 4.164 and miniflare 4.20260730 still read all three. Terraform's
 * CHECKPOINT_DISABLE and UPSTASH_DISABLE_TELEMETRY were dropped: neither tool reads them (the edge
 * turns Upstash telemetry off in code, edge/src/ratelimit.ts).
 */
export const offlineEnv = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
}

export const edgeStartMsMax = 90_000
const edgePollMs = 250

export interface LocalEdge {
  readonly url: string
  /** Merchant → API key, for the local topology only (never logged elsewhere). */
  readonly keys: Readonly<Record<string, string>>
  stop(): Promise<void>
  /** Run the scheduled handler now: active health probes of every region. */
  probe(): Promise<void>
}

/**
 * Where the worker runs. `wrangler-dev` is what a developer gets from `wrangler dev` (what
 * `pnpm start` runs): workerd behind wrangler's dev proxy, which logs every request through Node
 * and keeps an inspector attached. `workerd` runs the bundle wrangler builds for deploy on one
 * workerd (Miniflare) with nothing in front, as Cloudflare runs it: the benchmark's choice.
 */
export const edgeRuntimes = ['workerd', 'wrangler-dev'] as const
export type EdgeRuntime = (typeof edgeRuntimes)[number]

/** `text` as an EdgeRuntime, or undefined when it names none (for flags and variables). */
export function parseEdgeRuntime(text: string): EdgeRuntime | undefined {
  return edgeRuntimes.find((r) => r === text)
}

export interface EdgeOptions {
  readonly runtime?: EdgeRuntime
  readonly port: number
  readonly stateDir: string
  readonly edgeSecret: string
  readonly regionOrigins: Readonly<Record<string, string>>
  readonly upstash: { readonly url: string; readonly token: string }
  /** Settings over the local ones (drills shorten failback; tests raise the limit). */
  readonly settings?: EdgeSettingsInput
  /** Gets the worker's errors (and warnings, with `warnings`), every line when verbose. */
  readonly log: (line: string) => void
  readonly verbose?: boolean
  readonly warnings?: boolean
}

/** The worker's lines as the topology logs them, filtered like a region service's. */
export function edgeLines(options: EdgeOptions): (line: string) => void {
  return serviceLines(options, (line) => options.log(`[edge] ${line}`))
}

function newApiKey(): string {
  return `sk_test_${randomBytes(18)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')}`
}

export interface KeyEntry {
  readonly key: string
  readonly value: string
}

/** One test API key per merchant in the registry, and the KV entries (hash → record) for them. */
export async function newLocalKeys(): Promise<{
  keys: Record<string, string>
  entries: KeyEntry[]
}> {
  const keys = Object.fromEntries(fleet.merchants.map((m) => [m.merchantId, newApiKey()]))
  const entries = await Promise.all(
    Object.entries(keys).map(async ([merchantId, key]) => ({
      key: await sha256Hex(key),
      value: JSON.stringify({ merchantId, mode: 'test', status: 'active' }),
    })),
  )
  return { keys, entries }
}

/** Run the worker's scheduled handler now (both runtimes expose it at this path locally). */
export async function runScheduled(url: string): Promise<void> {
  await fetch(`${url}/cdn-cgi/handler/scheduled`).then(
    (r) => r.body?.cancel(),
    () => undefined,
  )
}

/** The local worker's variables, from its settings (wrangler.toml sets none). */
export function localEdgeVars(
  options: Pick<EdgeOptions, 'edgeSecret' | 'regionOrigins' | 'upstash' | 'settings'>,
): Record<string, string> {
  return toEnv({
    edgeSecret: options.edgeSecret,
    regionOrigins: options.regionOrigins,
    upstash: { url: options.upstash.url, token: options.upstash.token },
    ...options.settings,
  })
}

/** The keys, stored (hashed) in wrangler dev's local KV. */
async function seedKeys(stateDir: string): Promise<Record<string, string>> {
  const { keys, entries } = await newLocalKeys()
  const file = join(stateDir, 'api-keys.json')
  writeFileSync(file, JSON.stringify(entries))
  await runFile(
    wrangler,
    ['kv', 'bulk', 'put', file, '--binding', 'API_KEYS', '--local', '--persist-to', stateDir],
    {
      cwd: edgeDir,
      env: { ...process.env, ...offlineEnv },
    },
  )
  return keys
}

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
  const keys = await seedKeys(options.stateDir)
  const vars = localEdgeVars(options)
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
    keys,
    probe: () => runScheduled(url),
    async stop() {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM')
      await exited
    },
  }
}
