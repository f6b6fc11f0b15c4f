import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EdgeBundle } from './edge-stack.ts'

const edgeDir = fileURLToPath(new URL('../../../edge', import.meta.url))

/** The switches wrangler still reads to stay offline (see infra/local/src/edge.ts). */
export const offlineEnv = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
} as const

/**
 * Bundle the edge worker exactly as `wrangler deploy` would upload it (`--dry-run --outdir`), so
 * Terraform ships the same bytes; offline, about a second and a half.
 */
export function bundleEdgeWorker(outdir: string): EdgeBundle {
  const result = spawnSync(
    'pnpm',
    ['exec', 'wrangler', 'deploy', '--dry-run', '--outdir', outdir],
    {
      cwd: edgeDir,
      env: { ...process.env, ...offlineEnv },
      encoding: 'utf8',
    },
  )
  if (result.status !== 0)
    throw new Error(
      `bundling the edge worker failed (wrangler exit ${result.status}):\n${result.stderr || result.stdout}`,
    )
  const file = join(outdir, 'index.js')
  return { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') }
}
