/**
 * Global setup of the edge tests. Vitest runs it under the Workers module resolution, where
 * Node-only libraries (pg, ioredis) do not load; so it only starts the Node harness as a child
 * process and hands its addresses to the tests. Stopping the harness stops everything it started.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    edge: {
      regionOrigins: Record<string, string>
      edgeSecret: string
      upstashUrl: string
      upstashToken: string
      controlUrl: string
      /** The worker's variables (src/settings.ts `toEnv`), as the tests run it. */
      bindings: Record<string, string>
    }
  }
}

export const harnessStartMsMax = 120_000

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const harness = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./harness.ts', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, MERIDIAN_EXIT_WITH_PARENT: String(process.pid) },
    },
  )
  const exited = new Promise<void>((resolve) => harness.once('exit', () => resolve()))
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('edge test harness did not start')),
      harnessStartMsMax,
    )
    void exited.then(() => reject(new Error('edge test harness exited during start-up')))
    if (!harness.stdout) throw new Error('no stdout')
    createInterface({ input: harness.stdout }).on('line', (line) => {
      if (!line.includes('edge-harness.ready')) return
      clearTimeout(timer)
      resolve(JSON.parse(line) as Record<string, unknown>)
    })
  })
  project.provide('edge', ready as never)
  return async () => {
    harness.kill('SIGTERM')
    await exited
  }
}
