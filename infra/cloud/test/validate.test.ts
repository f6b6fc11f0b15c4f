import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fleet } from '@meridian/core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { TerraformJson } from '../src/summary.ts'
import { findTerraform, pluginDirDefault, validateStack } from '../src/validate.ts'
import { type Synthesized, synthesize } from './synth.ts'

// terraform validate needs the binary and the exact provider versions offline; without either,
// these tests are skipped and say why in their titles.
const terraform = findTerraform()
const pluginDir = process.env.TF_PLUGIN_DIR ?? pluginDirDefault
const skipReason = terraform ? undefined : 'terraform is not on PATH'
const title = (what: string) => (skipReason ? `${what} (SKIPPED: ${skipReason})` : what)

let synth: Synthesized
beforeAll(() => {
  if (skipReason) {
    console.warn(`terraform validate skipped: ${skipReason}`)
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'meridian-bundle-'))
  const file = join(dir, 'index.js')
  // Validation reads the schema, not the script: any file stands in for the worker bundle here.
  writeFileSync(file, 'export default {}\n')
  synth = synthesize(fleet, { file, sha256: '0'.repeat(64) })
}, 60_000)

describe.skipIf(skipReason !== undefined)('terraform validate', () => {
  it.for(['region-us-east', 'replication', 'edge'])(title('accepts the %s stack'), (stack, ctx) => {
    const result = validateStack(join(synth.outdir, 'stacks', stack), stack)
    if (result.status === 'skipped') {
      console.warn(
        `terraform validate ${stack} skipped: ${result.reason} (plugin dir ${pluginDir})`,
      )
      ctx.skip(result.reason)
    }
    expect(result).toEqual({ stack, status: 'valid' })
  })

  it(title('rejects a stack with an attribute the provider does not have'), (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-broken-'))
    cpSync(join(synth.outdir, 'stacks', 'region-us-east'), dir, { recursive: true })
    const file = join(dir, 'cdk.tf.json')
    const json = JSON.parse(readFileSync(file, 'utf8')) as TerraformJson
    const db = Object.values(json.resource?.aws_db_instance ?? {})[0]
    if (!db) throw new Error('no aws_db_instance in the region stack')
    db.storage_encryption = true // misspelt: storage_encrypted
    writeFileSync(file, JSON.stringify(json))
    const result = validateStack(dir, 'broken')
    if (result.status === 'skipped') ctx.skip(result.reason)
    expect(result.status).toBe('invalid')
    expect(result.status === 'invalid' && result.diagnostics.join('\n')).toMatch(
      /storage_encryption/,
    )
  })
})
