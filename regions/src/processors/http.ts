import { ProcessorError } from './adapter.ts'

/** How long we wait for a processor's answer before treating the outcome as unknown. */
export const processorTimeoutMsDefault = 2000

export interface HttpAnswer {
  readonly status: number
  // biome-ignore lint/suspicious/noExplicitAny: each adapter reads its processor's own format.
  readonly body: any
}

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string } }).cause
  return cause?.code
}

/**
 * One HTTP call to a processor. Failures become ProcessorErrors classified by whether the request
 * could have been acted on: refused connections, 429 and 503 could not; timeouts, dropped
 * connections and other 5xx could.
 */
export async function callProcessor(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  let response: Response
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...options.headers },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? processorTimeoutMsDefault),
    })
  } catch (error) {
    const code = causeCode(error)
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new ProcessorError(`processor unreachable (${code})`, true, false)
    }
    const timedOut =
      error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
    throw new ProcessorError(
      timedOut ? 'processor timed out' : `connection lost (${code ?? String(error)})`,
      true,
      true,
    )
  }
  let body: unknown
  try {
    body = await response.json()
  } catch {
    throw new ProcessorError(`unreadable answer (HTTP ${response.status})`, true, true)
  }
  if (response.status === 429) {
    const retryAfter = Number(
      response.headers.get('retry-after') ?? (body as { retry_after?: number })?.retry_after ?? 1,
    )
    throw new ProcessorError('processor rate limited us', true, false, retryAfter * 1000)
  }
  if (response.status === 503) throw new ProcessorError('processor unavailable (503)', true, false)
  if (response.status >= 500)
    throw new ProcessorError(`processor error (HTTP ${response.status})`, true, true)
  return { status: response.status, body }
}
