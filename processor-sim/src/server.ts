import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { seededRandom } from '@meridian/platform'
import { SimEngine } from './engine.ts'

/**
 * Faults a simulator injects, per run and changeable at runtime (`POST /_sim/faults`): the ways
 * real processors fail. Rates are probabilities per request.
 */
export interface SimFaults {
  latencyMsMin: number
  latencyMsMax: number
  /** Process the request, then answer only after `hangMs` (longer than the client waits). */
  timeoutRate: number
  hangMs: number
  /** 503 before processing anything. */
  errorRate: number
  /** The next N requests get a 503 before processing (a burst); counts down. */
  errorBurst: number
  /** 429 before processing anything. */
  rateLimitRate: number
  /** Process the request (the charge happens), then drop the connection without an answer. */
  lostResponseRate: number
  /** Random generic declines of otherwise approvable cards. */
  declineRate: number
}

export const defaultFaults: SimFaults = {
  latencyMsMin: 50,
  latencyMsMax: 200,
  timeoutRate: 0,
  hangMs: 10_000,
  errorRate: 0,
  errorBurst: 0,
  rateLimitRate: 0,
  lostResponseRate: 0,
  declineRate: 0,
}

export interface SimRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage['headers']
  // biome-ignore lint/suspicious/noExplicitAny: dialects read their own wire format.
  readonly body: any
}

export interface SimResponse {
  readonly status: number
  readonly body: unknown
}

/** One processor's wire format over the shared engine; undefined means "no such route" (404). */
export type Dialect = (engine: SimEngine, request: SimRequest) => SimResponse | undefined

export interface RunningSimulator {
  readonly name: string
  readonly url: string
  readonly engine: SimEngine
  readonly faults: SimFaults
  close(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text === '' ? {} : JSON.parse(text)
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

export function startSimulator(
  name: string,
  dialect: Dialect,
  options: { port?: number; faults?: Partial<SimFaults>; seed?: number } = {},
): Promise<RunningSimulator> {
  const engine = new SimEngine(name.slice(0, 3))
  const faults: SimFaults = { ...defaultFaults, ...options.faults }
  const random = options.seed === undefined ? Math.random : seededRandom(options.seed)
  const admin = (req: SimRequest): SimResponse => {
    if (req.method === 'GET' && req.path === '/_sim/stats')
      return { status: 200, body: engine.statsJson() }
    if (req.method === 'GET' && req.path === '/_sim/charges')
      return { status: 200, body: { charges: engine.chargesJson() } }
    if (req.method === 'GET' && req.path === '/_sim/faults') return { status: 200, body: faults }
    if (req.method === 'POST' && req.path === '/_sim/faults') {
      Object.assign(faults, req.body)
      return { status: 200, body: faults }
    }
    if (req.method === 'POST' && req.path === '/_sim/reset') {
      engine.reset()
      Object.assign(faults, defaultFaults, options.faults)
      return { status: 200, body: { reset: true } }
    }
    return { status: 404, body: { error: 'no such admin route' } }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sim')
    let body: unknown
    try {
      body = await readJson(req)
    } catch {
      send(res, 400, { error: 'invalid_json' })
      return
    }
    const request: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    }
    if (url.pathname.startsWith('/_sim/')) {
      const answer = admin(request)
      send(res, answer.status, answer.body)
      return
    }
    engine.stats.requests += 1
    engine.declineRate = faults.declineRate
    await sleep(
      faults.latencyMsMin + random() * Math.max(0, faults.latencyMsMax - faults.latencyMsMin),
    )
    if (random() < faults.rateLimitRate) {
      engine.stats.rateLimited += 1
      send(res, 429, { error: 'rate_limited', retry_after: 1 })
      return
    }
    if (faults.errorBurst > 0 || random() < faults.errorRate) {
      faults.errorBurst = Math.max(0, faults.errorBurst - 1)
      engine.stats.errors += 1
      send(res, 503, { error: 'service_unavailable', processed: false })
      return
    }
    const answer = dialect(engine, request) ?? { status: 404, body: { error: 'no_such_route' } }
    if (random() < faults.lostResponseRate) {
      engine.stats.lostResponses += 1
      req.socket.destroy()
      return
    }
    if (random() < faults.timeoutRate) {
      engine.stats.timeouts += 1
      await sleep(faults.hangMs)
    }
    if (!res.destroyed) send(res, answer.status, answer.body)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'simulator_bug' })
    })
  })
  return new Promise((resolve) => {
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        name,
        url: `http://127.0.0.1:${port}`,
        engine,
        faults,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}
