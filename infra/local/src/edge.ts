import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sampleMerchants } from '@meridian/core'
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
  /** This run's operator key (`pnpm fleet` reads it from .meridian/local.json). */
  readonly operatorKey: string
  stop(): Promise<void>
  /** Run the scheduled handler now: active health probes of every region. */
  probe(): Promise<void>
  /**
   * The edge's first process (wrangler dev's wrapper, or the Node process holding workerd);
   * workerd and the rest are its descendants. Benches read their CPU time from there.
   */
  readonly pid: number | undefined
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

/** An operator key for this run: its hash is the edge's OPERATOR_KEY_SHA256 (docs/control-plane.md). */
export function newLocalOperatorKey(): string {
  return `op_${randomBytes(48)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 32)}`
}

/**
 * Onboard the sample merchants through the operator API, as an operator would
 * (`pnpm fleet merchant create`): their placements reach every region and the edge's KV, and each
 * gets a first test key. Merchant → key.
 */
export async function onboardSampleMerchants(
  url: string,
  operatorKey: string,
): Promise<Record<string, string>> {
  const keys: Record<string, string> = {}
  for (const m of sampleMerchants) {
    const res = await fetch(`${url}/operator/v1/merchants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: m.merchantId.slice('mer_'.length),
        home: m.home,
        residency: m.residency,
      }),
    })
    const body = (await res.json()) as { key?: { secret?: string } }
    const secret = body.key?.secret
    if (res.status !== 201 || !secret)
      throw new Error(`onboarding ${m.merchantId}: HTTP ${res.status} ${JSON.stringify(body)}`)
    // A region that did not take the placement (the launcher tests run one region) admits the
    // merchant's writes as any region admits a merchant it holds no placement for.
    keys[m.merchantId] = secret
  }
  return keys
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
  operatorKeySha256?: string,
): Record<string, string> {
  return toEnv({
    edgeSecret: options.edgeSecret,
    ...(operatorKeySha256 ? { operatorKeySha256 } : {}),
    regionOrigins: options.regionOrigins,
    upstash: { url: options.upstash.url, token: options.upstash.token },
    ...options.settings,
  })
}
