/**
 * The baseline: a bare Hono endpoint on the same Node HTTP server, doing nothing but parse the
 * JSON body and answer 202. The fast path's latency is reported against this.
 */

import { serve } from '@hono/node-server'
import { exitWithParent } from '@meridian/platform'
import { Hono } from 'hono'

const app = new Hono()
app.post('/v1/payments', async (c) => {
  const body = await c.req.json()
  return c.json({ id: 'pay_bare', object: 'payment', amount: body.amount, status: 'pending' }, 202)
})
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(
    `${JSON.stringify({ event: 'bare.ready', url: `http://127.0.0.1:${info.port}` })}\n`,
  )
})
exitWithParent()
process.on('SIGTERM', () => server.close(() => process.exit(0)))
