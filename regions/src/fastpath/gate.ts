import { readFileSync } from 'node:fs'
import {
  decideIdempotency,
  type IdempotencyDecision,
  type IdempotencyRecord,
  idempotencyInFlightTtlMs,
  idempotencyRedisTtlMs,
} from '@meridian/core'
import { type Keyspace, type Logger, LuaScript } from '@meridian/platform'
import type { Redis } from 'ioredis'

export interface RateLimit {
  readonly perSec: number
  readonly burst: number
}

export type GateOutcome =
  | { readonly kind: 'limited'; readonly retryAfterMs: number }
  | { readonly kind: 'decided'; readonly decision: Exclude<IdempotencyDecision, { kind: 'new' }> }
  | {
      readonly kind: 'new'
      readonly cardCount: number
      readonly merchantCount: number
      readonly cardBlocked: boolean
      /** Redis did not answer: no rate limit, no fast idempotency, no velocity. Postgres still decides. */
      readonly degraded: boolean
    }

export interface ClaimRequest {
  readonly merchantId: string
  readonly idempotencyKey: string
  readonly fingerprint: string
  readonly rate: RateLimit
  /** For payment creation: count this card against the velocity window. */
  readonly velocity?: { readonly cardToken: string; readonly windowMs: number }
}

const gateScript = new LuaScript(readFileSync(new URL('./gate.lua', import.meta.url), 'utf8'))

/** Compare-and-delete: drop an in-flight marker only if it is still ours. */
const releaseScript = new LuaScript(`
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).state == 'in_flight' and cjson.decode(v).fingerprint == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

type Reply = [string, string | number, number?, number?]

/**
 * The Redis half of the fast path. Redis is an accelerator, never the truth: when it fails the
 * gate answers `new` with `degraded: true` and Postgres's unique constraint keeps idempotency.
 */
export class FastPathGate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly log: Logger,
  ) {}

  private merchantKeys(merchantId: string, idempotencyKey: string, card: string): string[] {
    // `{merchant}` is a hash tag: all of one merchant's keys live in one cluster slot.
    const tag = `{${merchantId}}`
    return [
      this.keys.key(tag, 'rl'),
      this.keys.key(tag, 'idem', idempotencyKey),
      this.keys.key(tag, 'vc', card),
      this.keys.key(tag, 'vm'),
      this.keys.key(tag, 'blocklist'),
    ]
  }

  private async run(keys: string[], args: (string | number)[]): Promise<Reply | undefined> {
    try {
      return (await gateScript.run(this.redis, keys, args)) as Reply
    } catch (error) {
      this.log.warn('redis gate unavailable; continuing on Postgres alone', { error })
      return undefined
    }
  }

  async claim(request: ClaimRequest, nowMs = Date.now()): Promise<GateOutcome> {
    const card = request.velocity?.cardToken ?? '-'
    const reply = await this.run(
      this.merchantKeys(request.merchantId, request.idempotencyKey, card),
      [
        nowMs,
        request.rate.perSec,
        request.rate.burst,
        request.fingerprint,
        idempotencyInFlightTtlMs,
        request.velocity?.windowMs ?? 0,
        card,
        'claim',
      ],
    )
    if (!reply)
      return { kind: 'new', cardCount: 0, merchantCount: 0, cardBlocked: false, degraded: true }
    const [kind, a, b, c] = reply
    if (kind === 'limited') return { kind: 'limited', retryAfterMs: Number(a) }
    if (kind === 'exists') {
      const record = JSON.parse(String(a)) as IdempotencyRecord
      const decision = decideIdempotency(record, request.fingerprint)
      if (decision.kind === 'new') throw new Error('an existing record cannot decide new')
      return { kind: 'decided', decision }
    }
    return {
      kind: 'new',
      cardCount: Number(a),
      merchantCount: Number(b),
      cardBlocked: c === 1,
      degraded: false,
    }
  }

  /** Rate limit only (reads). */
  async limit(
    merchantId: string,
    rate: RateLimit,
    nowMs = Date.now(),
  ): Promise<{ retryAfterMs: number } | undefined> {
    const reply = await this.run(this.merchantKeys(merchantId, '-', '-'), [
      nowMs,
      rate.perSec,
      rate.burst,
      '-',
      0,
      0,
      '-',
      'limit',
    ])
    return reply?.[0] === 'limited' ? { retryAfterMs: Number(reply[1]) } : undefined
  }

  /** Remember the final response so the next retry is answered from Redis. Best effort. */
  async complete(
    merchantId: string,
    idempotencyKey: string,
    record: Extract<IdempotencyRecord, { state: 'completed' }>,
  ): Promise<void> {
    try {
      await this.redis.set(
        this.keys.key(`{${merchantId}}`, 'idem', idempotencyKey),
        JSON.stringify(record),
        'PX',
        idempotencyRedisTtlMs,
      )
    } catch (error) {
      this.log.warn('redis could not store an idempotent response; Postgres has it', { error })
    }
  }

  /** The request failed before producing a response worth keeping: let a retry run again. */
  async release(merchantId: string, idempotencyKey: string, fingerprint: string): Promise<void> {
    try {
      await releaseScript.run(
        this.redis,
        [this.keys.key(`{${merchantId}}`, 'idem', idempotencyKey)],
        [fingerprint],
      )
    } catch (error) {
      this.log.warn('redis could not release an in-flight marker; it expires on its own', { error })
    }
  }

  async blockCard(merchantId: string, cardToken: string): Promise<void> {
    await this.redis.sadd(this.keys.key(`{${merchantId}}`, 'blocklist'), cardToken)
  }
}
