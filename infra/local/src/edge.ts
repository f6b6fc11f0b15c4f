import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sampleMerchants, sha256Hex } from '@meridian/core'
import { type EdgeSettingsInput, toEnv } from '@meridian/core/edge-settings'
import { repoRoot, serviceLines } from './processes.ts'

export const runFile = promisify(execFile)
export const edgeDir = join(repoRoot, 'edge')
export const wrangler = join(repoRoot, 'edge', 'node_modules', '.bin', 'wrangler')

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
export const edgePollMs = 250

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
  const keys = Object.fromEntries(sampleMerchants.map((m) => [m.merchantId, newApiKey()]))
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
