import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../processes.ts'

/** An error answer of the operator API, with its error object (core/src/errors.ts). */
export class OperatorApiError extends Error {
  override readonly name = 'OperatorApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface Connection {
  readonly edgeUrl: string
  readonly operatorKey: string
}

/**
 * Where the operator API is and the key to call it with: MERIDIAN_EDGE_URL and
 * MERIDIAN_OPERATOR_KEY, else what `pnpm start` wrote in .meridian/local.json.
 */
export function connection(env: NodeJS.ProcessEnv = process.env): Connection {
  const file = join(repoRoot, '.meridian', 'local.json')
  const local = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { edge?: string; operatorKey?: string })
    : {}
  const edgeUrl = env.MERIDIAN_EDGE_URL ?? local.edge
  const operatorKey = env.MERIDIAN_OPERATOR_KEY ?? local.operatorKey
  if (!edgeUrl || !operatorKey)
    throw new Error(
      'no gateway to talk to: run `pnpm start` (it writes .meridian/local.json), or set MERIDIAN_EDGE_URL and MERIDIAN_OPERATOR_KEY',
    )
  return { edgeUrl, operatorKey }
}

/** One call's bound: the longest step (a fence waits for open transactions) fits well inside. */
export const operatorCallTimeoutMs = 30_000

export class OperatorClient {
  constructor(private readonly c: Connection) {}

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.c.edgeUrl}/operator/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.c.operatorKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(operatorCallTimeoutMs),
    })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new OperatorApiError(
        res.status,
        'not_json',
        `HTTP ${res.status}: ${text.slice(0, 200)}`,
      )
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } }).error
      throw new OperatorApiError(
        res.status,
        error?.code ?? 'unknown',
        error?.message ?? `HTTP ${res.status}`,
      )
    }
    return parsed as T
  }
}
