import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connectRedis } from '@meridian/platform'
import type { Redis } from 'ioredis'

/**
 * A local stand-in for Upstash's hosted Redis REST API, in front of the real local Redis, so the
 * edge's real @upstash/redis and @upstash/ratelimit clients run unmodified. Speaks the wire format
 * those clients use: `POST /` with `["CMD", …args]`, `POST /pipeline` and `POST /multi-exec` with
 * a list of commands, path-style `GET /cmd/arg/…`; `Authorization: Bearer <token>`; results as
 * `{"result": …}` / `{"error": …}`, strings base64-encoded when `Upstash-Encoding: base64` is sent.
 */
export interface UpstashStandIn {
  readonly url: string
  readonly token: string
  close(): Promise<void>
}

type Reply = string | number | null | Reply[]

function encode(value: unknown, base64: boolean): Reply {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return value
  if (Buffer.isBuffer(value)) value = value.toString('utf8')
  if (typeof value === 'string') {
    // The client leaves a bare "OK" (a status reply) as it is and decodes every other string.
    return base64 && value !== 'OK' ? Buffer.from(value, 'utf8').toString('base64') : value
  }
  if (Array.isArray(value)) return value.map((v) => encode(v, base64))
  return String(value)
}

function asArgs(command: unknown): string[] | undefined {
  if (!Array.isArray(command) || command.length === 0) return undefined
  return command.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)))
}

/** Script flags Upstash accepts that open-source Redis refuses; the stand-in drops them. */
const upstashOnlyFlags = new Set(['allow-key-locking'])

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex')
}

function normalizeScript(script: string): string {
  const newline = script.indexOf('\n')
  const first = newline < 0 ? script : script.slice(0, newline)
  const match = /^#!lua(?:\s+flags=(\S*))?\s*$/.exec(first)
  if (!match) return script
  const flags = (match[1] ?? '').split(',').filter((f) => f !== '' && !upstashOnlyFlags.has(f))
  const shebang = flags.length > 0 ? `#!lua flags=${flags.join(',')}` : '#!lua'
  return `${shebang}${newline < 0 ? '' : script.slice(newline)}`
}

/**
 * Scripts are known to clients by the SHA-1 of their original text; Redis knows the normalized
 * text by its own SHA-1. This map joins the two, so EVALSHA works as it does against Upstash.
 */
const scriptShas = new Map<string, string>()

async function run(redis: Redis, args: string[]): Promise<unknown> {
  const [rawName, ...rest] = args
  const name = String(rawName).toUpperCase()
  if ((name === 'EVAL' || name === 'EVAL_RO') && rest[0] !== undefined) {
    const normalized = normalizeScript(rest[0])
    scriptShas.set(sha1(rest[0]), sha1(normalized))
    return redis.call(name, normalized, ...rest.slice(1))
  }
  if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && rest[0] !== undefined) {
    return redis.call(name, scriptShas.get(rest[0]) ?? rest[0], ...rest.slice(1))
  }
  if (name === 'SCRIPT' && String(rest[0]).toUpperCase() === 'LOAD' && rest[1] !== undefined) {
    const normalized = normalizeScript(rest[1])
    scriptShas.set(sha1(rest[1]), String(await redis.call('SCRIPT', 'LOAD', normalized)))
    return sha1(rest[1])
  }
  return redis.call(name, ...rest)
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text === '' ? undefined : JSON.parse(text)
}

export async function startUpstashStandIn(options: {
  token: string
  port?: number
  redisUrl?: string
}): Promise<UpstashStandIn> {
  const redis = await connectRedis(options.redisUrl)
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization
    const url = new URL(req.url ?? '/', 'http://upstash')
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('_token')
    if (token !== options.token) return send(res, 401, { error: 'Unauthorized' })
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
    let payload: unknown
    try {
      payload = await body(req)
    } catch {
      return send(res, 400, { error: 'ERR invalid JSON body' })
    }
    if (url.pathname === '/pipeline' || url.pathname === '/multi-exec') {
      if (!Array.isArray(payload))
        return send(res, 400, { error: 'ERR a list of commands is required' })
      const commands = payload.map(asArgs)
      if (commands.some((c) => c === undefined))
        return send(res, 400, { error: 'ERR malformed command' })
      if (url.pathname === '/multi-exec') {
        const multi = redis.multi()
        // Transactions here carry plain commands (the clients send scripts on their own).
        for (const c of commands as string[][]) multi.call(String(c[0]), ...c.slice(1))
        const results = (await multi.exec()) ?? []
        return send(
          res,
          200,
          results.map(([error, value]) =>
            error ? { error: error.message } : { result: encode(value, base64) },
          ),
        )
      }
      const results = []
      for (const c of commands as string[][]) {
        try {
          results.push({ result: encode(await run(redis, c), base64) })
        } catch (error) {
          results.push({ error: error instanceof Error ? error.message : String(error) })
        }
      }
      return send(res, 200, results)
    }
    const args =
      url.pathname === '/'
        ? asArgs(payload)
        : url.pathname.slice(1).split('/').map(decodeURIComponent)
    if (!args || args.length === 0 || args[0] === '')
      return send(res, 400, { error: 'ERR no command' })
    try {
      return send(res, 200, { result: encode(await run(redis, args), base64) })
    } catch (error) {
      return send(res, 400, { error: error instanceof Error ? error.message : String(error) })
    }
  }
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }))
  })
  await new Promise<void>((r) => server.listen(options.port ?? 0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: options.token,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      redis.disconnect()
    },
  }
}
