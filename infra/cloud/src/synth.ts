/**
 * `pnpm infra:synth [--out dir] [--registry file.json] [--no-validate]`: bundle the edge worker,
 * synthesize every stack to Terraform JSON (offline, no terraform needed), then run
 * `terraform validate` on each stack this machine has the providers for.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fleet, parseRegistry } from '@meridian/core'
import { buildInfra } from './app.ts'
import { bundleEdgeWorker } from './bundle.ts'
import { type StackSummary, summarize } from './summary.ts'
import { validateStack } from './validate.ts'

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: resolve(import.meta.dirname, '..', 'cdktf.out') },
    registry: { type: 'string' },
    'no-validate': { type: 'boolean', default: false },
  },
})
const outdir = resolve(values.out)
const registry = values.registry
  ? parseRegistry(JSON.parse(readFileSync(values.registry, 'utf8')))
  : fleet
const say = (line: string) => process.stdout.write(`${line}\n`)

let started = performance.now()
const workerDir = join(outdir, 'edge-worker')
mkdirSync(workerDir, { recursive: true })
const bundle = bundleEdgeWorker(workerDir)
say(
  `edge worker bundled in ${Math.round(performance.now() - started)} ms (sha256 ${bundle.sha256.slice(0, 12)}…)`,
)

started = performance.now()
const edgeStackDir = join(outdir, 'stacks', 'edge')
const infra = buildInfra({
  registry,
  outdir,
  // Terraform resolves the path from the stack's directory; relative keeps the output portable.
  edgeBundle: { file: relative(edgeStackDir, bundle.file), sha256: bundle.sha256 },
  ...(process.env.MERIDIAN_STATE_BUCKET ? { stateBucket: process.env.MERIDIAN_STATE_BUCKET } : {}),
})
infra.app.synth()
const synthMs = Math.round(performance.now() - started)
const summaries: StackSummary[] = [...infra.regions, infra.replication, infra.edge].map((s) =>
  summarize(outdir, s.node.id),
)
for (const s of summaries)
  say(
    `  ${s.stack.padEnd(18)} ${String(s.resources).padStart(4)} resources  ${relative(process.cwd(), s.file)}`,
  )
say(
  `synthesized ${summaries.length} stacks for ${registry.regions.length} regions in ${synthMs} ms → ${relative(process.cwd(), outdir)}`,
)

if (values['no-validate']) process.exit(0)
let failed = false
for (const s of summaries) {
  started = performance.now()
  const v = validateStack(join(outdir, 'stacks', s.stack), s.stack)
  const ms = Math.round(performance.now() - started)
  if (v.status === 'valid') say(`terraform validate ${s.stack}: valid (${ms} ms)`)
  else if (v.status === 'skipped') say(`terraform validate ${s.stack}: SKIPPED — ${v.reason}`)
  else {
    failed = true
    say(`terraform validate ${s.stack}: INVALID\n  ${v.diagnostics.join('\n  ')}`)
  }
}
process.exit(failed ? 1 : 0)
