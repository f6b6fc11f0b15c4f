import type { RegionRegistry } from '@meridian/core'
import { App, LocalBackend, S3Backend, type TerraformStack } from 'cdktn'
import { readWranglerSettings, type WranglerSettings } from './edge-settings.ts'
import { type EdgeBundle, EdgeStack } from './edge-stack.ts'
import { RegionStack } from './region-stack.ts'
import { ReplicationStack } from './replication-stack.ts'

export interface InfraOptions {
  readonly registry: RegionRegistry
  /** Where `app.synth()` writes; each stack gets `stacks/<name>/cdk.tf.json` under it. */
  readonly outdir: string
  readonly edgeBundle: EdgeBundle
  readonly apiHostname?: string
  readonly wrangler?: WranglerSettings
  /** S3 bucket (in us-east-1) for Terraform state; unset: local state files next to each stack. */
  readonly stateBucket?: string
}

export interface Infra {
  readonly app: App
  readonly regions: readonly RegionStack[]
  readonly edge: EdgeStack
  readonly replication: ReplicationStack
}

export const apiHostnameDefault = 'api.meridian.example'

/**
 * Every stack from the one registry: a stack per region, then replication (it looks the regions'
 * resources up by name, so it is applied after them), then the edge (it needs their ALBs).
 */
export function buildInfra(options: InfraOptions): Infra {
  const app = new App({ outdir: options.outdir })
  const regions = options.registry.regions.map((r) => new RegionStack(app, r))
  const replication = new ReplicationStack(app, options.registry)
  const stacks = [...regions, replication]
  for (const r of regions) replication.addDependency(r)
  const edge = new EdgeStack(app, options.registry, {
    apiHostname: options.apiHostname ?? apiHostnameDefault,
    wrangler: options.wrangler ?? readWranglerSettings(),
    bundle: options.edgeBundle,
  })
  for (const r of regions) edge.addDependency(r)
  for (const stack of [...stacks, edge]) {
    if (options.stateBucket) remoteState(stack, options.stateBucket)
    // Relative to the stack's directory, so the synthesized files name no path of this machine.
    else new LocalBackend(stack, { path: `terraform.${stack.node.id}.tfstate` })
  }
  return { app, regions, edge, replication }
}

/** One state file per stack, encrypted, with S3's native lock file so two applies cannot race. */
function remoteState(stack: TerraformStack, bucket: string): void {
  new S3Backend(stack, {
    bucket,
    key: `meridian/${stack.node.id}.tfstate`,
    region: 'us-east-1',
    encrypt: true,
  })
  // Terraform ≥ 1.10 locks with a lock object beside the state; cdktf 0.21's typings predated it
  // (cdktn 0.24's S3Backend has `useLockfile`; the override keeps the JSON as it was).
  stack.addOverride('terraform.backend.s3.use_lockfile', true)
}
