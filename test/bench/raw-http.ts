/**
 * The load generator's HTTP client: HTTP/1.1 keep-alive over plain sockets, one request at a
 * time per connection, reading only the status and the body's length. On a two-core machine
 * the generator shares the CPU with the server it measures; undici cost about as much CPU per
 * request as the whole fast path, and this costs a fraction of it (wrk and autocannon work the
 * same way). It speaks only what the benches' servers answer: Content-Length or chunked bodies.
 */
import { connect, type Socket } from 'node:net'

interface Pending {
  readonly wire: Buffer
  resolve(status: number): void
  reject(error: Error): void
}

const headerEnd = Buffer.from('\r\n\r\n')
const chunkedEnd = Buffer.from('0\r\n\r\n')

/** How many bytes of `buf` one whole response takes, or undefined while it is incomplete. */
export function responseLength(
  buf: Buffer,
): { length: number; status: number; close: boolean } | undefined {
  const end = buf.indexOf(headerEnd)
  if (end < 0) return undefined
  const head = buf.toString('latin1', 0, end).toLowerCase()
  const status = Number(head.slice(9, 12))
  const close = /\r\nconnection: *close/.test(head)
  const bodyStart = end + 4
  const lengthMatch = /\r\ncontent-length: *(\d+)/.exec(head)
  if (lengthMatch) {
    const length = bodyStart + Number(lengthMatch[1])
    return buf.length >= length ? { length, status, close } : undefined
  }
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    const last = buf.indexOf(chunkedEnd, bodyStart)
    return last < 0 ? undefined : { length: last + chunkedEnd.length, status, close }
  }
  // No body framing: a 204/304 or a body that ends with the connection (not spoken here).
  return { length: bodyStart, status, close }
}

class Connection {
  private socket: Socket | undefined
  private buffered: Buffer = Buffer.alloc(0)
  private current: Pending | undefined

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly done: (c: Connection) => void,
  ) {}

  get busy(): boolean {
    return this.current !== undefined
  }

  send(p: Pending): void {
    this.current = p
    if (!this.socket || this.socket.destroyed) this.open()
    this.socket?.write(p.wire)
  }

  private open(): void {
    const socket = connect({ host: this.host, port: this.port, noDelay: true })
    this.buffered = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => this.onData(socket, data))
    // Only this connection's current socket may fail its request: an old one closing late
    // (after `Connection: close`) must not touch the request on its successor.
    const fail = (error: Error) => {
      if (socket !== this.socket) return
      const p = this.current
      this.current = undefined
      this.socket = undefined
      p?.reject(error)
      if (p) this.done(this)
    }
    socket.on('error', fail)
    socket.on('close', () => fail(new Error('connection closed before the response ended')))
    this.socket = socket
  }

  private onData(socket: Socket, data: Buffer): void {
    if (socket !== this.socket) return
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data])
    const whole = responseLength(this.buffered)
    if (!whole) return
    this.buffered = this.buffered.subarray(whole.length)
    if (whole.close) {
      // The server ends this connection: the next request goes on a new one.
      this.socket = undefined
      socket.destroy()
    }
    const p = this.current
    this.current = undefined
    p?.resolve(whole.status)
    this.done(this)
  }

  close(): void {
    this.socket?.destroy()
  }
}

/** Up to `connections` keep-alive connections to `origin`; requests queue while all are busy. */
export class RawPool {
  private readonly idle: Connection[] = []
  private readonly all: Connection[] = []
  private readonly queue: Pending[] = []
  private readonly host: string
  private readonly port: number
  readonly hostHeader: string

  constructor(
    origin: string,
    private readonly connections: number,
  ) {
    const url = new URL(origin)
    this.host = url.hostname
    this.port = Number(url.port)
    this.hostHeader = url.host
  }

  /** Send a whole request (as `wire` bytes); resolves with the response's status. */
  request(wire: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      const p = { wire, resolve, reject }
      const c = this.idle.pop() ?? this.grow()
      if (c) c.send(p)
      else this.queue.push(p)
    })
  }

  private grow(): Connection | undefined {
    if (this.all.length >= this.connections) return undefined
    const c = new Connection(this.host, this.port, (free) => this.release(free))
    this.all.push(c)
    return c
  }

  private release(c: Connection): void {
    const next = this.queue.shift()
    if (next) c.send(next)
    else this.idle.push(c)
  }

  close(): void {
    for (const c of this.all) c.close()
  }
}

/** The bytes of one POST with a JSON body. */
export function encodePost(
  hostHeader: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  body: string,
): Buffer {
  const bodyBytes = Buffer.from(body)
  let head = `POST ${path} HTTP/1.1\r\nhost: ${hostHeader}\r\ncontent-length: ${bodyBytes.length}\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), bodyBytes])
}
