/**
 * The Upstash stand-in as a process of its own (settings in upstash-settings.ts), so a benchmark's
 * load generator and the limiter's server do not share one event loop. Prints
 * `{"event":"upstash.ready","url":…}` when it listens; SIGTERM closes it.
 */
import { exitWithParent } from '@meridian/platform'
import { startUpstashStandIn } from './upstash.ts'
import { fromEnv, type UpstashSettings } from './upstash-settings.ts'

let settings: UpstashSettings
try {
  settings = fromEnv(process.env)
} catch (error) {
  process.stderr.write(`upstash-main: ${(error as Error).message}\n`)
  process.exit(2)
}
const standIn = await startUpstashStandIn(settings)
exitWithParent()
process.stdout.write(`${JSON.stringify({ event: 'upstash.ready', url: standIn.url })}\n`)
process.once('SIGTERM', () => {
  void standIn.close().then(() => process.exit(0))
})
