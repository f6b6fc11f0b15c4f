/**
 * The machine's floor under any proxy: a plain Node HTTP server that passes each request to
 * `ORIGIN` on a kept-alive connection and streams the answer back, doing nothing else. Whatever
 * it adds over going straight to the origin is the price of one more process on the path here
 * (scheduling, loopback sockets), which no worker code can win back. Prints
 * `{"event":"pass-through.ready","url":…}`.
 */

import { Agent, createServer, request } from 'node:http'
import { exitWithParent } from '@meridian/platform'

const origin = new URL(process.env.ORIGIN ?? '')
if (!origin.port) {
  process.stderr.write('pass-through-node: set ORIGIN (http://host:port)\n')
  process.exit(2)
}
const agent = new Agent({ keepAlive: true })
const server = createServer((req, res) => {
  const upstream = request(
    {
      host: origin.hostname,
      port: origin.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    },
  )
  upstream.on('error', (error) => {
    res.writeHead(502, { 'content-type': 'text/plain' })
    res.end(`pass-through: ${error.message}`)
  })
  req.pipe(upstream)
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.stdout.write(
    `${JSON.stringify({ event: 'pass-through.ready', url: `http://127.0.0.1:${port}` })}\n`,
  )
})
exitWithParent()
process.on('SIGTERM', () => server.close(() => process.exit(0)))
