/**
 * bench:e2e's load generator as a process of its own, so its CPU time is a row of its own and the
 * bench's main process stays what `pnpm start`'s is (the Upstash stand-in, the probe timer).
 *
 * Reads E2E_LOAD (JSON: LoadJob), prints `{"event":"load.ready"}`, runs the open loop when sent
 * SIGUSR2, prints `{"event":"load.done",…}` with every step, then stays alive until SIGTERM:
 * a process that has exited no longer shows its CPU time in /proc.
 */
import { exitWithParent } from '@meridian/platform'
import { Pool } from 'undici'
import { type FlowOptions, openLoopPayments } from './e2e-flow.ts'

export interface LoadJob extends FlowOptions {
  readonly edgeUrl: string
  readonly ratePerSec: number
  readonly seconds: number
}

const job = JSON.parse(process.env.E2E_LOAD ?? '{}') as LoadJob
exitWithParent()
process.once('SIGTERM', () => process.exit(0))
process.once('SIGUSR2', () => {
  // Enough connections that no request waits for one at 100 payments/s with the waits' polls.
  const client = new Pool(job.edgeUrl, { connections: 256, keepAliveTimeout: 30_000 })
  void openLoopPayments(client, job, job.ratePerSec, job.seconds).then(async (result) => {
    await client.close()
    process.stdout.write(`${JSON.stringify({ event: 'load.done', ...result })}\n`)
  })
})
// Keeps the event loop alive until a signal comes (signal handlers alone do not).
setInterval(() => {}, 60_000)
process.stdout.write(`${JSON.stringify({ event: 'load.ready' })}\n`)
