import { type AddressInfo, createServer, type Server, Socket } from 'node:net'

/**
 * A TCP proxy whose next answer can be lost: the request goes through and the server acts on
 * it, then the connection to the client is cut as the answer starts to come back. The client
 * sees a dropped connection for a request that was carried out, the case an idempotency key
 * exists for.
 */
export interface DropProxy {
  readonly url: string
  /** Cut the connection of the next answer (one answer, whichever connection carries it). */
  dropNextAnswer(): void
  /** Answers cut so far. */
  readonly dropped: number
  close(): Promise<void>
}

export async function startDropProxy(target: string): Promise<DropProxy> {
  const { hostname, port } = new URL(target)
  let armed = false
  let dropped = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = new Socket()
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => {
      if (armed) {
        armed = false
        dropped++
        client.resetAndDestroy()
        upstream.destroy()
        return
      }
      client.write(chunk)
    })
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
    upstream.connect(Number(port), hostname)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropNextAnswer() {
      armed = true
    },
    get dropped() {
      return dropped
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
