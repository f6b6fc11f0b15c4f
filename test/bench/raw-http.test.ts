import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodePost, RawPool, responseLength } from './raw-http.ts'

describe('responseLength', () => {
  const head = 'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n'
  it('waits for the whole Content-Length body, and no more', () => {
    const whole = Buffer.from(`${head}Content-Length: 4\r\n\r\n{"a"`)
    expect(responseLength(whole.subarray(0, whole.length - 1))).toBeUndefined()
    expect(responseLength(whole)).toEqual({ length: whole.length, status: 202, close: false })
    expect(responseLength(Buffer.concat([whole, Buffer.from('HTTP/1.1')]))?.length).toBe(
      whole.length,
    )
  })
  it('reads chunked bodies to their last chunk', () => {
    const whole = Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`)
    expect(responseLength(whole.subarray(0, whole.length - 2))).toBeUndefined()
    expect(responseLength(whole)).toEqual({ length: whole.length, status: 202, close: false })
  })
  it('is incomplete until the headers end', () => {
    expect(responseLength(Buffer.from(head))).toBeUndefined()
  })
})

describe('RawPool against node:http', () => {
  let server: Server
  let origin = ''
  const seen: string[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        seen.push(`${req.headers['idempotency-key']} ${body}`)
        if (body === 'close') {
          res.writeHead(500, { connection: 'close' })
          res.end()
          req.socket.destroy()
          return
        }
        // Alternate the two framings a Node server uses.
        if (body.endsWith('chunked')) {
          res.writeHead(202)
          res.write('{"x":')
          res.end('1}')
        } else res.writeHead(201, { 'content-length': '2' }).end('{}')
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('sends each request once and reads each status, over few connections', async () => {
    const pool = new RawPool(origin, 2)
    const bodies = Array.from({ length: 20 }, (_, i) => (i % 2 ? `b${i} chunked` : `b${i}`))
    const statuses = await Promise.all(
      bodies.map((b, i) =>
        pool.request(encodePost(pool.hostHeader, '/x', { 'idempotency-key': `k${i}` }, b)),
      ),
    )
    pool.close()
    expect(statuses).toEqual(bodies.map((b) => (b.endsWith('chunked') ? 202 : 201)))
    expect(seen.filter((s) => s.startsWith('k')).sort()).toEqual(
      bodies.map((b, i) => `k${i} ${b}`).sort(),
    )
  })

  it('fails a request whose connection closes, and goes on on a new one', async () => {
    const pool = new RawPool(origin, 1)
    const first = pool.request(encodePost(pool.hostHeader, '/x', {}, 'close'))
    const second = pool.request(encodePost(pool.hostHeader, '/x', {}, 'after'))
    // The server answers 500 and closes: the answer is whole, so it counts as a 500.
    await expect(first).resolves.toBe(500)
    await expect(second).resolves.toBe(201)
    pool.close()
  })
})
