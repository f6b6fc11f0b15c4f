/**
 * The Upstash stand-in as a process of its own (`UPSTASH_TOKEN`, optional `REDIS_URL`), so a
 * benchmark's load generator and the limiter's server do not share one event loop. Prints
 * `{"event":"upstash.ready","url":…}` when it listens; SIGTERM closes it.
 */
import { exitWithParent } from '@meridian/platform'
import { startUpstashStandIn } from './upstash.ts'

const token = process.env.UPSTASH_TOKEN
if (!token) {
  process.stderr.write('upstash-main: set UPSTASH_TOKEN\n')
  process.exit(2)
}
const standIn = await startUpstashStandIn({
  token,
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
})
exitWithParent()
process.stdout.write(`${JSON.stringify({ event: 'upstash.ready', url: standIn.url })}\n`)
process.once('SIGTERM', () => {
  void standIn.close().then(() => process.exit(0))
})
