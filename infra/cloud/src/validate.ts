import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** `terraform validate` of one synthesized stack, when this machine can run it. */
export type Validation =
  | { readonly stack: string; readonly status: 'valid' }
  | { readonly stack: string; readonly status: 'invalid'; readonly diagnostics: readonly string[] }
  | { readonly stack: string; readonly status: 'skipped'; readonly reason: string }

/** Provider binaries Terraform may use offline: TF_PLUGIN_DIR, else the machine's mirror. */
export const pluginDirDefault = '/opt/tf-plugins'

export function findTerraform(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'terraform')
    if (dir && existsSync(candidate)) return candidate
  }
  return undefined
}

interface RequiredProvider {
  readonly source: string
  readonly version: string
}

function requiredProviders(stackDir: string): RequiredProvider[] {
  const json = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as {
    terraform?: { required_providers?: Record<string, RequiredProvider> }
  }
  return Object.values(json.terraform?.required_providers ?? {})
}

/** A provider is usable offline only if the mirror holds exactly the version the stack pins. */
function missingProvider(
  pluginDir: string,
  providers: readonly RequiredProvider[],
): string | undefined {
  for (const p of providers) {
    // "aws" means hashicorp/aws; "ns/name" lives on the public registry; three parts are a full address.
    const parts = p.source.split('/')
    const source =
      parts.length === 1
        ? `registry.terraform.io/hashicorp/${p.source}`
        : parts.length === 2
          ? `registry.terraform.io/${p.source}`
          : p.source
    const dir = join(
      pluginDir,
      source,
      p.version,
      `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`,
    )
    if (!existsSync(dir))
      return `provider ${p.source} ${p.version} is not in ${pluginDir} and providers cannot be downloaded offline`
  }
  return undefined
}

export function validateStack(
  stackDir: string,
  stack: string,
  env: NodeJS.ProcessEnv = process.env,
): Validation {
  const terraform = findTerraform(env)
  if (!terraform) return { stack, status: 'skipped', reason: 'terraform is not on PATH' }
  const pluginDir = env.TF_PLUGIN_DIR ?? pluginDirDefault
  const missing = missingProvider(pluginDir, requiredProviders(stackDir))
  if (missing) return { stack, status: 'skipped', reason: missing }
  // An empty CLI config: no credentials helpers, no mirrors we did not name, no warning about ~/.terraformrc.
  const cliConfig = join(stackDir, '.terraformrc')
  writeFileSync(cliConfig, '')
  const run = (args: string[]) =>
    spawnSync(terraform, args, {
      cwd: stackDir,
      encoding: 'utf8',
      env: {
        ...env,
        CHECKPOINT_DISABLE: '1',
        TF_IN_AUTOMATION: '1',
        TF_CLI_CONFIG_FILE: cliConfig,
      },
    })
  const init = run([
    'init',
    '-backend=false',
    '-input=false',
    '-no-color',
    `-plugin-dir=${pluginDir}`,
  ])
  if (init.status !== 0)
    return {
      stack,
      status: 'invalid',
      diagnostics: [`terraform init: ${init.stderr || init.stdout}`],
    }
  const validate = run(['validate', '-json', '-no-color'])
  const report = JSON.parse(validate.stdout || '{}') as {
    valid?: boolean
    diagnostics?: { severity: string; summary: string; detail?: string; address?: string }[]
  }
  const errors = (report.diagnostics ?? []).filter((d) => d.severity === 'error')
  if (report.valid === true && errors.length === 0) return { stack, status: 'valid' }
  return {
    stack,
    status: 'invalid',
    diagnostics:
      errors.length > 0
        ? errors.map((d) => `${d.address ?? ''} ${d.summary}: ${d.detail ?? ''}`.trim())
        : [validate.stderr],
  }
}
