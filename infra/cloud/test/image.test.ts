import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { entryPoint, rdsCaBundle } from '../src/services.ts'
import { services } from '../src/sizing.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const read = (file: string) => readFileSync(join(root, file), 'utf8')

/** The Node release pnpm-workspace.yaml's catalog pins (the `node` devDependency). */
function pinnedNode(): string {
  const version = /^ {2}node: (\d+\.\d+\.\d+)$/m.exec(read('pnpm-workspace.yaml'))?.[1]
  if (!version) throw new Error('pnpm-workspace.yaml pins no node version in its catalog')
  return version
}

describe('the service image', () => {
  it('runs the Node release the workspace pins, which engines accepts', () => {
    const from = /^FROM node:(\S+)-bookworm-slim$/m.exec(read('Dockerfile'))?.[1]
    expect(from).toBe(pinnedNode())
    const engines = JSON.parse(read('package.json')).engines.node as string
    expect(engines).toBe('>=24.11 <25')
    const [major, minor] = pinnedNode().split('.').map(Number)
    expect(major).toBe(24)
    expect(minor).toBeGreaterThanOrEqual(11)
  })

  it('carries the RDS CA bundle where the task definitions point NODE_EXTRA_CA_CERTS', () => {
    expect(read('Dockerfile')).toMatch(
      new RegExp(`^ADD .*global-bundle\\.pem ${rdsCaBundle}$`, 'm'),
    )
  })

  it('ships every entry point a task runs, and no host node_modules', () => {
    const entries = (Object.keys(services) as (keyof typeof services)[]).map(entryPoint)
    expect(entries).toHaveLength(5)
    for (const entry of entries) {
      // Inside the repository (the image's working directory), and there.
      expect(entry, entry).toMatch(/^[a-z]+\/.*\.ts$/)
      expect(existsSync(join(root, entry)), entry).toBe(true)
    }
    const ignored = read('.dockerignore')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
    expect(ignored).toContain('**/node_modules')
    for (const entry of entries)
      expect(
        ignored.some((pattern) => entry.startsWith(pattern.replace('**/', ''))),
        entry,
      ).toBe(false)
  })
})
