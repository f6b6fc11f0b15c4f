/**
 * The processor simulators as one process: `tsx processor-sim/src/main.ts`. Each processor listens
 * on its own port (portBase+1, +2, +3, or free ports); `faults` sets the starting faults of all
 * three and `seed` makes their randomness replayable (settings.ts names the variables). Change
 * faults at runtime with `POST <url>/_sim/faults`; read what each processor did with
 * `GET <url>/_sim/stats`.
 */
import { exitWithParent } from '@meridian/platform'
import { dialects, simNames } from './dialects.ts'
import { type RunningSimulator, startSimulator } from './server.ts'
import { fromEnv } from './settings.ts'

async function main(): Promise<void> {
  const { portBase: base, faults, seed } = fromEnv(process.env)
  const sims: RunningSimulator[] = []
  for (const [i, name] of simNames.entries()) {
    sims.push(
      await startSimulator(name, dialects[name], {
        ...(base === undefined ? {} : { port: base + 1 + i }),
        faults,
        ...(seed === undefined ? {} : { seed: seed + i }),
      }),
    )
  }
  const urls = Object.fromEntries(sims.map((s) => [s.name, s.url]))
  process.stdout.write(`${JSON.stringify({ event: 'sim.ready', urls })}\n`)
  const stop = () => void Promise.all(sims.map((s) => s.close())).then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

exitWithParent()
main().catch((error: unknown) => {
  process.stderr.write(`simulators: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
