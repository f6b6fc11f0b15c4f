/**
 * The processor simulators as one process: `tsx processor-sim/src/main.ts`. Each processor listens
 * on its own port (SIM_PORT_BASE+1, +2, +3, or free ports); SIM_FAULTS (JSON) sets the starting
 * faults of all three and SIM_SEED makes their randomness replayable. Change faults at runtime
 * with `POST <url>/_sim/faults`; read what each processor did with `GET <url>/_sim/stats`.
 */
import { exitWithParent } from '@meridian/platform'
import { dialects, simNames } from './dialects.ts'
import { type RunningSimulator, startSimulator } from './server.ts'

async function main(): Promise<void> {
  const base = process.env.SIM_PORT_BASE ? Number(process.env.SIM_PORT_BASE) : undefined
  const faults = process.env.SIM_FAULTS ? JSON.parse(process.env.SIM_FAULTS) : {}
  const seed = process.env.SIM_SEED ? Number(process.env.SIM_SEED) : undefined
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
