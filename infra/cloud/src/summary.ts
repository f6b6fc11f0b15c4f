import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** A synthesized stack as Terraform sees it: `resource.<type>.<name>` and `data.<type>.<name>`. */
export interface TerraformJson {
  readonly terraform?: {
    readonly required_providers?: Record<string, { source: string; version: string }>
  }
  readonly provider?: Record<string, readonly Record<string, unknown>[]>
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>
  readonly data?: Record<string, Record<string, Record<string, unknown>>>
  readonly variable?: Record<string, Record<string, unknown>>
  readonly output?: Record<string, Record<string, unknown>>
}

export interface StackSummary {
  readonly stack: string
  readonly file: string
  readonly resources: number
  readonly json: TerraformJson
}

export function stackFile(outdir: string, stack: string): string {
  return join(outdir, 'stacks', stack, 'cdk.tf.json')
}

export function summarize(outdir: string, stack: string): StackSummary {
  const file = stackFile(outdir, stack)
  const json = JSON.parse(readFileSync(file, 'utf8')) as TerraformJson
  const resources = Object.values(json.resource ?? {}).reduce(
    (n, byName) => n + Object.keys(byName).length,
    0,
  )
  return { stack, file, resources, json }
}

/** Every resource of one type, by its Terraform name. */
export function resourcesOf(
  json: TerraformJson,
  type: string,
): Record<string, Record<string, unknown>> {
  return json.resource?.[type] ?? {}
}
