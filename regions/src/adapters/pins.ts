import type { Secret } from '@meridian/core'

/**
 * Which processor authorizes a payment, agreed once for the whole fleet. One payment can exist
 * in two regions (a retry served elsewhere before replication); both send its authorization
 * under the same key, which one processor dedupes, but two processors know nothing of each
 * other's keys. So whenever a region might send a payment somewhere other than where another
 * region does (it is not the merchant's home, or it is moving the payment off a processor that
 * refused it), it first agrees on the processor here: the first agreement is final (write-once),
 * and every region sends only there. ARCHITECTURE.md, "Exactly once", says why this is enough.
 */
export interface ProcessorPins {
  /**
   * The value agreed for `subject`: `value` if nobody agreed before, else theirs. Subjects are
   * payment ids (their processor) and `kept:<merchant>/<key>` (which payment of several under
   * one key is kept; compensation.ts): one write-once register for every such decision.
   */
  agree(subject: string, value: string): Promise<string>
}

/** The register could not be reached: nothing was agreed; send nothing, try again later. */
export class PinsUnavailableError extends Error {
  override readonly name = 'PinsUnavailableError'
}

/**
 * Longer than any payment can still be authorized anywhere: a retry may recreate a payment
 * from its idempotency record for a week (idempotencyRetentionMs), so pins outlive that.
 */
export const pinTtlSec = 8 * 24 * 3600

export interface UpstashPinsOptions {
  readonly url: string
  readonly token: Secret
  /** Key prefix, so test runs and fleets sharing one database stay apart. */
  readonly prefix: string
  readonly timeoutMs?: number
}

/**
 * The register on Upstash's global Redis over its REST API: `SET key value NX GET` is one
 * atomic command, executed by the database's primary region, so two regions agreeing at once
 * get the same answer. Locally, the Upstash stand-in in front of the real Redis.
 */
export class UpstashPins implements ProcessorPins {
  constructor(private readonly options: UpstashPinsOptions) {}

  async agree(subject: string, value: string): Promise<string> {
    const key = `${this.options.prefix}${subject}`
    const command = ['SET', key, value, 'NX', 'GET', 'EX', String(pinTtlSec)]
    let response: Response
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.token.reveal()}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(command),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000),
      })
    } catch (error) {
      throw new PinsUnavailableError(`processor pins unreachable: ${String(error)}`)
    }
    const body = (await response.json().catch(() => ({}))) as { result?: unknown; error?: unknown }
    if (!response.ok || body.error !== undefined)
      throw new PinsUnavailableError(
        `processor pins answered ${response.status}: ${String(body.error ?? '')}`,
      )
    // NX with GET: the old value when the key was set before (nothing written), else null.
    return typeof body.result === 'string' ? body.result : value
  }
}
