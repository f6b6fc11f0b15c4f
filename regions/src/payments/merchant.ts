import {
  decideIdempotency,
  type EventType,
  formatHlc,
  type HybridClock,
  type IdempotencyReplica,
  invariant,
  presentBalance,
  requestFingerprint,
  writeRefusal,
} from '@meridian/core'
import { inTransaction } from '@meridian/platform'
import type pg from 'pg'
import type { FastPathGate, RateLimit } from '../fastpath/gate.ts'
import { merchantBalances } from '../ledger/store.ts'
import {
  getIdempotencyRecord,
  insertIdempotency,
  insertOutbox,
  type StoredResponse,
} from '../store/payments.ts'
import { admission } from '../store/placements.ts'
import {
  createEndpoint,
  listEndpoints,
  replayDeadLetters,
  revealStoredSecret,
  rollSecret,
} from '../webhooks/endpoints.ts'
import type { KeyRing } from '../webhooks/secret-box.ts'
import { makeEvent } from './events.ts'
import type { Caller, IdempotencyGuard } from './guard.ts'
import { type ApiResult, answerDecision, ok, rateLimited } from './outcomes.ts'

/** A concurrent request with the same key committed first; roll back and answer from its record. */
class KeyTaken extends Error {}

/** Merchant-level endpoints: balance and webhook endpoints. */
export class MerchantService {
  constructor(
    private readonly deps: {
      readonly region: string
      /** The registry's jurisdiction of `region` (admitWrite's). */
      readonly jurisdiction: string
      readonly pool: pg.Pool
      readonly gate: FastPathGate
      readonly guard: IdempotencyGuard
      readonly rate: (merchantId: string) => RateLimit
      readonly clock: HybridClock
      /** Called after a commit that wrote outbox events: wakes the outbox relay. */
      readonly outboxWritten?: () => void
      /** Local development's loopback opt-in for webhook URLs (RegionConfig). */
      readonly webhookAllowLoopback?: boolean
      /** Seals webhook signing secrets at rest (RegionConfig.webhookSecretKeys). */
      readonly webhookSecretKeys: KeyRing
    },
  ) {}

  private async limitRead(merchantId: string): Promise<void> {
    const limited = await this.deps.gate.limit(merchantId, this.deps.rate(merchantId))
    if (limited) throw rateLimited(limited.retryAfterMs)
  }

  async balance(merchantId: string): Promise<ApiResult> {
    await this.limitRead(merchantId)
    return ok(200, presentBalance(await merchantBalances(this.deps.pool, merchantId)))
  }

  async listWebhookEndpoints(merchantId: string): Promise<ApiResult> {
    await this.limitRead(merchantId)
    return ok(200, await listEndpoints(this.deps.pool, merchantId))
  }

  createWebhookEndpoint(
    caller: Caller,
    body: Record<string, unknown>,
    live = false,
  ): Promise<ApiResult> {
    const created = this.once(caller, '/v1/webhook_endpoints', body, async (client) => {
      const { endpoint, changes } = await createEndpoint(client, caller.merchantId, body, {
        allowLoopback: this.deps.webhookAllowLoopback === true,
        live,
        keys: this.deps.webhookSecretKeys,
      })
      return {
        status: 201,
        body: JSON.stringify(endpoint),
        resourceId: endpoint.id,
        event: { type: 'merchant.config_changed', payload: { changes } },
      }
    })
    return this.revealed(created)
  }

  rollWebhookSecret(
    caller: Caller,
    endpointId: string,
    body: Record<string, unknown>,
  ): Promise<ApiResult> {
    const path = `/v1/webhook_endpoints/${endpointId}/roll_secret`
    const rolled = this.once(caller, path, body, async (client) => {
      const { endpoint, changes } = await rollSecret(
        client,
        caller.merchantId,
        endpointId,
        body,
        this.deps.webhookSecretKeys,
      )
      return {
        status: 200,
        body: JSON.stringify(endpoint),
        resourceId: endpointId,
        event: { type: 'merchant.config_changed', payload: { changes } },
      }
    })
    return this.revealed(rolled)
  }

  /** First answers and replays alike: the stored body holds the secret sealed. */
  private async revealed(answer: Promise<ApiResult>): Promise<ApiResult> {
    const result = await answer
    return { ...result, body: revealStoredSecret(this.deps.webhookSecretKeys, result.body) }
  }

  replayWebhooks(
    caller: Caller,
    endpointId: string,
    body: Record<string, unknown>,
  ): Promise<ApiResult> {
    return this.once(caller, `/v1/webhook_endpoints/${endpointId}/replay`, body, async (client) => {
      const replay = await replayDeadLetters(client, caller.merchantId, endpointId, body)
      return {
        status: 202,
        body: JSON.stringify(replay),
        resourceId: endpointId,
        event: { type: 'webhook.replay_requested', payload: { endpoint: endpointId } },
      }
    })
  }

  /** Do `work` and record its response under the key, in one transaction. */
  private async once(
    caller: Caller,
    path: string,
    body: Record<string, unknown>,
    work: (client: pg.PoolClient) => Promise<
      StoredResponse & {
        resourceId: string
        event: { type: EventType; payload: Record<string, unknown> }
      }
    >,
  ): Promise<ApiResult> {
    const fingerprint = await requestFingerprint('POST', path, body)
    return this.deps.guard.run(caller, fingerprint, async () => {
      try {
        let wrote = false
        const answer = await inTransaction(this.deps.pool, async (client) => {
          // Inside the transaction: a fence committed after this read waits for this edit.
          const admitted = await admission(
            client,
            caller.merchantId,
            caller.epoch,
            this.deps.jurisdiction,
          )
          if (!admitted.ok) throw writeRefusal(admitted.reason, caller.merchantId)
          const existing = await getIdempotencyRecord(
            client,
            caller.merchantId,
            caller.idempotencyKey,
          )
          if (existing) {
            const decision = decideIdempotency(existing, fingerprint)
            invariant(decision.kind !== 'new', 'a stored record cannot be new')
            return answerDecision(decision)
          }
          const result = await work(client)
          const hlc = formatHlc(this.deps.clock.now())
          const stored = await insertIdempotency(
            client,
            caller.merchantId,
            { key: caller.idempotencyKey, fingerprint, status: result.status, body: result.body },
            result.resourceId,
            this.deps.region,
            hlc,
          )
          if (!stored) throw new KeyTaken()
          // The stored response replicates with the event, so a retry in any region replays it.
          const idempotency: IdempotencyReplica = {
            merchantId: caller.merchantId,
            key: caller.idempotencyKey,
            fingerprint,
            status: result.status,
            body: result.body,
            resourceId: result.resourceId,
            originRegion: this.deps.region,
            hlc,
          }
          await insertOutbox(client, [
            makeEvent(this.deps.clock, result.event.type, caller.merchantId, {
              ...result.event.payload,
              idempotency,
            }),
          ])
          wrote = true
          return { status: result.status, body: result.body, replayed: false }
        })
        if (wrote) this.deps.outboxWritten?.()
        return answer
      } catch (error) {
        if (error instanceof KeyTaken)
          return this.deps.guard.replayFromPostgres(caller, fingerprint)
        throw error
      }
    })
  }
}
