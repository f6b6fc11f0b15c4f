import { describe, expect, it } from 'vitest'
import { nodeProblem } from './prerequisites.ts'

describe('nodeProblem', () => {
  it('accepts the Node this suite runs on: pnpm put the pinned Node 24 first on PATH', () => {
    // Fails when the suite runs on the system's Node 20 instead of node_modules/.bin/node.
    expect(nodeProblem()).toBeUndefined()
    expect(process.versions.node).toMatch(/^24\./)
  })

  it('names the running version and the fix for any other major', () => {
    expect(nodeProblem('20.20.2')).toEqual({
      what: 'Node.js 24 (this is 20.20.2)',
      fix: expect.stringContaining('pnpm'),
    })
    expect(nodeProblem('26.1.0')?.what).toContain('26.1.0')
    expect(nodeProblem('24.21.0')).toBeUndefined()
  })
})
