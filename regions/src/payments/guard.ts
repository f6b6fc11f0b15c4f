import { decideIdempotency, invariant } from '@meridian/core'
import type pg from 'pg'
import type { FastPathGate, GateOutcome, RateLimit } from '../fastpath/gate.ts'
import type { Metrics } from '../metrics.ts'
import { getIdempotencyRecord } from '../store/payments.ts'
import { type ApiResult, answerDecision, rateLimited } from './outcomes.ts'

export interface Caller {
  readonly merchantId: string
  readonly idempotencyKey: string
  /** The placement epoch the edge signed: every write is admitted by it (core admitWrite). */
  readonly epoch: number
}

export interface GuardDeps {
  readonly pool: pg.Pool
  readonly gate: FastPathGate
  readonly policy: (merchantId: string) => { readonly rate: RateLimit }
  readonly metrics: Metrics
}

/**
 * The idempotency protocol every POST follows: claim the key in Redis (rate limit included),
 * answer repeats from what is stored, run the work once, remember its response; when Redis has
 * forgotten a key, Postgres still has it and answers.
 */
export class IdempotencyGuard {
  constructor(private readonly deps: GuardDeps) {}

  async claim(
    caller: Caller,
    fingerprint: string,
    velocity?: { cardToken: string; windowMs: number },
  ) {
    const stopTimer = this.deps.metrics.gateSeconds.startTimer()
    const outcome: GateOutcome = await this.deps.gate.claim({
      merchantId: caller.merchantId,
      idempotencyKey: caller.idempotencyKey,
      fingerprint,
      rate: this.deps.policy(caller.merchantId).rate,
      ...(velocity ? { velocity } : {}),
    })
    stopTimer()
    if (outcome.kind === 'limited') throw rateLimited(outcome.retryAfterMs)
    if (outcome.kind === 'new' && outcome.degraded) this.deps.metrics.redisDegraded.inc()
    return outcome
  }

  /**
   * Run `work` for a claimed key; a failure releases the claim so a retry can run again (a write
   * refused by its placement throws too: after the move, its retry must run, not wait in flight).
   */
  async guarded(
    caller: Caller,
    fingerprint: string,
    work: () => Promise<ApiResult>,
  ): Promise<ApiResult> {
    let result: ApiResult
    try {
      result = await work()
    } catch (error) {
      await this.deps.gate.release(caller.merchantId, caller.idempotencyKey, fingerprint)
      throw error
    }
    if (!result.replayed) {
      await this.deps.gate.complete(caller.merchantId, caller.idempotencyKey, {
        state: 'completed',
        fingerprint,
        status: result.status,
        body: result.body,
      })
    }
    return result
  }

  /** Redis did not know the key but Postgres did (flushed Redis, or a replicated record). */
  async replayFromPostgres(caller: Caller, fingerprint: string): Promise<ApiResult> {
    const record = await getIdempotencyRecord(
      this.deps.pool,
      caller.merchantId,
      caller.idempotencyKey,
    )
    invariant(record !== undefined, 'a taken idempotency key has a stored record')
    const decision = decideIdempotency(record, fingerprint)
    invariant(decision.kind !== 'new', 'a stored record cannot be new')
    this.deps.metrics.idempotentReplays.inc({ source: 'postgres' })
    return answerDecision(decision)
  }

  /** Claim, then run `work` once: for POSTs whose work is a plain transaction (webhook endpoints). */
  async run(
    caller: Caller,
    fingerprint: string,
    work: () => Promise<ApiResult>,
  ): Promise<ApiResult> {
    const gate = await this.claim(caller, fingerprint)
    if (gate.kind === 'decided') return answerDecision(gate.decision)
    return this.guarded(caller, fingerprint, work)
  }
}
