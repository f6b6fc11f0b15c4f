import { type AddressInfo, createServer, type Server, Socket } from 'node:net'

/**
 * A TCP proxy in front of one region's API whose one-way delay can change at runtime: the
 * `slow-region` drill's network. Bytes keep their order; each chunk waits `delayMs` in each
 * direction, as on a congested or distant link.
 */
export interface LatencyProxy {
  readonly url: string
  setDelayMs(ms: number): void
  /**
   * Hold every byte the region sends back (requests still reach it): a region that committed
   * but whose answers never arrive, as a hung process or a stalled return path looks to the edge.
   * Released bytes go out in order when the hold ends.
   */
  holdResponses(on: boolean): void
  close(): Promise<void>
}

export async function startLatencyProxy(target: string): Promise<LatencyProxy> {
  const { hostname, port } = new URL(target)
  let delayMs = 0
  let holding = false
  let release: () => void = () => {}
  let held = Promise.resolve()
  const sockets = new Set<Socket>()
  const pipe = (from: Socket, to: Socket, response: boolean) => {
    // Chained promises keep the order of chunks whatever the delay was when each arrived.
    let queue = Promise.resolve()
    from.on('data', (chunk) => {
      const wait = delayMs
      const gate = response && holding ? held : undefined
      queue = queue.then(
        () =>
          new Promise<void>((resolve) => {
            const send = () => {
              if (!to.destroyed) to.write(chunk)
              resolve()
            }
            const go = () => (wait > 0 ? setTimeout(send, wait) : send())
            if (gate) void gate.then(go)
            else go()
          }),
      )
    })
    from.on('end', () => void queue.then(() => to.end()))
    from.on('error', () => to.destroy())
    from.on('close', () => void queue.then(() => to.destroy()))
  }
  const server: Server = createServer((client) => {
    const upstream = new Socket()
    sockets.add(client)
    sockets.add(upstream)
    client.on('close', () => sockets.delete(client))
    upstream.on('close', () => sockets.delete(upstream))
    // Writes before the connection is up are buffered by the socket, so pipe at once.
    pipe(client, upstream, false)
    pipe(upstream, client, true)
    upstream.connect(Number(port), hostname)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    setDelayMs(ms) {
      delayMs = ms
    },
    holdResponses(on) {
      if (on && !holding) held = new Promise<void>((resolve) => (release = resolve))
      if (!on && holding) release()
      holding = on
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
