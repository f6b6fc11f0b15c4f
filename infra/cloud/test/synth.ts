import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import type { RegionRegistry } from '@meridian/core'
import { buildInfra } from '../src/app.ts'
import { readWranglerSettings, type WranglerSettings } from '../src/edge-settings.ts'
import type { EdgeBundle } from '../src/edge-stack.ts'
import { type StackSummary, summarize, type TerraformJson } from '../src/summary.ts'

export interface Synthesized {
  readonly outdir: string
  readonly ms: number
  readonly stacks: Readonly<Record<string, StackSummary>>
  stack(name: string): TerraformJson
}

/** edge/wrangler.toml as it is, control-plane bindings included. */
export function controlPlaneWrangler(): WranglerSettings {
  return readWranglerSettings()
}

/** Synthesize every stack of a registry into a fresh directory and read the JSON back. */
export function synthesize(
  registry: RegionRegistry,
  bundle: EdgeBundle,
  wrangler?: WranglerSettings,
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'meridian-synth-'))
  const started = performance.now()
  const edgeDir = join(outdir, 'stacks', 'edge')
  const infra = buildInfra({
    registry,
    outdir,
    edgeBundle: { file: relative(edgeDir, bundle.file), sha256: bundle.sha256 },
    ...(wrangler ? { wrangler } : {}),
  })
  infra.app.synth()
  const ms = performance.now() - started
  const names = [...infra.regions, infra.replication, infra.edge].map((s) => s.node.id)
  const stacks = Object.fromEntries(names.map((n) => [n, summarize(outdir, n)]))
  return {
    outdir,
    ms,
    stacks,
    stack(name) {
      const s = stacks[name]
      if (!s) throw new Error(`no stack ${name}; have ${names.join(', ')}`)
      return s.json
    },
  }
}

type Block = Record<string, unknown>

/** Resources of one type as [construct path, block]: `region-us-east/network/alb-sg`. */
export function resources(json: TerraformJson, type: string): [string, Block][] {
  return Object.values(json.resource?.[type] ?? {}).map((block) => [constructPath(block), block])
}

export function only(json: TerraformJson, type: string): Block {
  const all = resources(json, type)
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`)
  return (all[0] as [string, Block])[1]
}

function constructPath(block: Block): string {
  const meta = block['//'] as { metadata?: { path?: string } } | undefined
  return meta?.metadata?.path ?? '?'
}

/** `${aws_security_group.network_alb-sg_B3FA17EE.id}` → the path of the resource it names. */
export function referencedPath(json: TerraformJson, reference: unknown): string {
  const match = /^\$\{(?:data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(String(reference))
  if (!match?.[1] || !match[2]) return `not a reference: ${String(reference)}`
  const [, type, name] = match
  const block = json.resource?.[type]?.[name] ?? json.data?.[type]?.[name]
  return block ? constructPath(block) : `unknown ${type}.${name}`
}
