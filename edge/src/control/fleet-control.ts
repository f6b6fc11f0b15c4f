import { DurableObject } from 'cloudflare:workers'
import {
  fleet,
  MeridianError,
  merchantIdSchema,
  newPlacement,
  type Placement,
  placementSchema,
  type Residency,
} from '@meridian/core'
import type { Env } from '../env.ts'
import { abortMove, evacuationPlan, lastMove, restorePlan, startMove, stepMove } from './moves.ts'
import { callRegion } from './regions.ts'
import { guarded, moveView, notFound, type Row } from './results.ts'
import { schema } from './schema.ts'
import { hashKey, newApiKey, newObjectId, newOperatorKey } from './secrets.ts'
import type {
  AuditEntry,
  ControlStore,
  EvacuationPlan,
  KeyView,
  MerchantView,
  MoveView,
  NewKey,
  Operator,
  Result,
} from './types.ts'

/** How long a rolled key keeps working unless the operator says otherwise (Stripe's default). */
export const keyRollOverlapSecDefault = 3600
/** The longest overlap a roll may leave (Stripe allows up to seven days). */
export const keyRollOverlapSecMax = 7 * 24 * 3600

/** `mer_` and the name in lower case, runs of anything else as one `_`. */
export function merchantIdFor(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40)
  const id = `mer_${slug}`
  if (!slug || !merchantIdSchema.safeParse(id).success || id === 'mer_control')
    throw new MeridianError({
      kind: 'invalid_request',
      code: 'parameter_invalid',
      param: 'name',
      message: 'A merchant name needs letters or digits (it becomes the id, mer_<name>).',
    })
  return id
}

/**
 * The control plane: the one serialized owner of merchants, their placements and epochs, API
 * keys, operator keys, the audit log and planned moves (docs/control-plane.md). It writes what
 * the hot path reads through to KV; moves are in moves.ts.
 */
export class FleetControl extends DurableObject<Env> implements ControlStore {
  readonly sql: SqlStorage
  /** The worker's bindings, for moves.ts (DurableObject keeps its own `env` protected). */
  readonly bindings: Env

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.bindings = env
    this.sql = ctx.storage.sql
    this.sql.exec(schema)
  }

  rows(query: string, ...bindings: SqlStorageValue[]): Row[] {
    return this.sql.exec(query, ...bindings).toArray() as Row[]
  }

  audit(operator: Operator, action: string, target: string, detail: unknown = {}): void {
    this.sql.exec(
      'insert into audit (at_ms, operator, action, target, detail) values (?, ?, ?, ?, ?)',
      Date.now(),
      `${operator.name} (${operator.id})`,
      action,
      target,
      JSON.stringify(detail),
    )
  }

  /** The operator a key hash belongs to, if it is active. */
  async operatorFor(hash: string): Promise<Operator | undefined> {
    const [row] = this.rows(
      `select id, name from operator_keys where hash = ? and status = 'active'`,
      hash,
    )
    return row ? { id: String(row.id), name: String(row.name) } : undefined
  }

  async createOperatorKey(
    by: Operator,
    name: string,
  ): Promise<Result<{ id: string; name: string; secret: string }>> {
    return guarded(async () => {
      const secret = newOperatorKey()
      const id = newObjectId('opk')
      this.sql.exec(
        `insert into operator_keys (id, name, hash, status, created_ms) values (?, ?, ?, 'active', ?)`,
        id,
        name,
        await hashKey(secret),
        Date.now(),
      )
      this.audit(by, 'operator_key.create', id, { name })
      return { id, name, secret }
    })
  }

  merchant(id: string): MerchantView | undefined {
    const [row] = this.rows('select * from merchants where id = ?', id)
    if (!row) return undefined
    const move = this.activeMove(id)
    return {
      id: String(row.id),
      name: String(row.name),
      placement: placementSchema.parse(JSON.parse(String(row.placement))),
      createdMs: Number(row.created_ms),
      ...(move ? { move } : {}),
    }
  }

  async listMerchants(): Promise<MerchantView[]> {
    return this.rows('select id from merchants order by id').flatMap((r) => {
      const m = this.merchant(String(r.id))
      return m ? [m] : []
    })
  }

  async getMerchant(id: string): Promise<Result<MerchantView>> {
    return guarded(() => {
      const m = this.merchant(id)
      if (!m) throw notFound('merchant', id)
      return m
    })
  }

  /**
   * A new merchant at epoch 1 and its first test key. The placement reaches every region before
   * the key reaches KV, so no region sees the merchant's first write without knowing its residency.
   */
  async createMerchant(
    by: Operator,
    input: { name: string; home: string; residency: Residency },
  ): Promise<Result<{ merchant: MerchantView; key: NewKey; unreachable: string[] }>> {
    return guarded(async () => {
      const id = merchantIdFor(input.name)
      if (this.merchant(id))
        throw new MeridianError({
          kind: 'conflict',
          code: 'merchant_exists',
          param: 'name',
          message: `${id} exists already. Mint it another key with keys create --merchant ${id}.`,
        })
      const placement = newPlacement(fleet, {
        merchantId: id,
        home: input.home,
        residency: input.residency,
      })
      this.sql.exec(
        'insert into merchants (id, name, placement, created_ms) values (?, ?, ?, ?)',
        id,
        input.name,
        JSON.stringify(placement),
        Date.now(),
      )
      this.audit(by, 'merchant.create', id, { name: input.name, placement })
      const unreachable = await this.pushPlacement(placement)
      this.requirePlaced(placement, unreachable)
      const key = await this.mintKey(by, id, 'test')
      const merchant = this.merchant(id)
      if (!merchant) throw new Error('merchant vanished')
      return { merchant, key, unreachable }
    })
  }

  /** Every region's copy of the placement, then KV's; the regions that did not answer. */
  async pushPlacement(placement: Placement, firstRegion?: string): Promise<string[]> {
    const ids = fleet.regions.map((r) => r.id)
    const order = firstRegion ? [firstRegion, ...ids.filter((r) => r !== firstRegion)] : ids
    const unreachable: string[] = []
    for (const region of order) {
      const answer = await callRegion(this.env, {
        region,
        method: 'PUT',
        path: `/internal/v1/placements/${placement.merchantId}`,
        body: placement,
        merchantId: placement.merchantId,
        epoch: placement.epoch,
      })
      if (!answer.ok) unreachable.push(`${region}: ${answer.detail}`)
    }
    await this.env.PLACEMENTS.put(placement.merchantId, JSON.stringify(placement))
    return unreachable
  }

  /**
   * A resident merchant gets no key until every region of its jurisdiction holds its placement: a
   * region without it would admit the merchant's writes as global and replicate them abroad.
   */
  private requirePlaced(placement: Placement, unreachable: readonly string[]): void {
    if (placement.residency === 'global') return
    const missing = unreachable.filter((u) =>
      [placement.home, ...placement.failover].some((r) => u.startsWith(`${r}:`)),
    )
    if (missing.length > 0)
      throw new MeridianError({
        kind: 'unavailable',
        code: 'region_unavailable',
        retryAfterSec: 5,
        message: `${placement.merchantId} (residency ${placement.residency}) has no key yet: ${missing.join('; ')}. Mint one when the region answers: pnpm fleet keys create --merchant ${placement.merchantId}.`,
      })
  }

  private async mintKey(by: Operator, merchantId: string, mode: 'test' | 'live'): Promise<NewKey> {
    const secret = newApiKey(mode)
    const hash = await hashKey(secret)
    const key: KeyView = {
      id: newObjectId('key'),
      merchantId,
      mode,
      status: 'active',
      last4: secret.slice(-4),
      createdMs: Date.now(),
    }
    this.sql.exec(
      `insert into api_keys (id, merchant_id, hash, mode, status, last4, created_ms) values (?, ?, ?, ?, 'active', ?, ?)`,
      key.id,
      merchantId,
      hash,
      mode,
      key.last4,
      key.createdMs,
    )
    await this.env.API_KEYS.put(hash, JSON.stringify({ merchantId, mode, status: 'active' }))
    this.audit(by, 'key.create', key.id, { merchantId, mode, last4: key.last4 })
    return { ...key, secret }
  }

  async createKey(
    by: Operator,
    merchantId: string,
    mode: 'test' | 'live',
  ): Promise<Result<NewKey>> {
    return guarded(async () => {
      const merchant = this.merchant(merchantId)
      if (!merchant) throw notFound('merchant', merchantId)
      if (merchant.placement.residency !== 'global')
        this.requirePlaced(merchant.placement, await this.pushPlacement(merchant.placement))
      return this.mintKey(by, merchantId, mode)
    })
  }

  private key(id: string): (KeyView & { hash: string }) | undefined {
    const [r] = this.rows('select * from api_keys where id = ?', id)
    if (!r) return undefined
    return {
      id: String(r.id),
      merchantId: String(r.merchant_id),
      mode: r.mode === 'live' ? 'live' : 'test',
      status: r.status === 'revoked' ? 'revoked' : 'active',
      last4: String(r.last4),
      createdMs: Number(r.created_ms),
      hash: String(r.hash),
      ...(r.expires_ms === null ? {} : { expiresAtMs: Number(r.expires_ms) }),
    }
  }

  private view(key: KeyView & { hash: string }): KeyView {
    const { hash: _hash, ...view } = key
    return view
  }

  async listKeys(merchantId: string): Promise<Result<KeyView[]>> {
    return guarded(() => {
      if (!this.merchant(merchantId)) throw notFound('merchant', merchantId)
      return this.rows(
        'select id from api_keys where merchant_id = ? order by created_ms',
        merchantId,
      ).flatMap((r) => {
        const k = this.key(String(r.id))
        return k ? [this.view(k)] : []
      })
    })
  }

  /**
   * KV's record of a key, as the edge reads it (edge/src/keys.ts), from the row as it is now: a
   * roll and a revoke interleaving at their awaits must not leave KV with the roll's stale
   * "active" over the revoke.
   */
  private async syncKey(changed: KeyView & { hash: string }): Promise<void> {
    const key = this.key(changed.id) ?? changed
    await this.env.API_KEYS.put(
      key.hash,
      JSON.stringify({
        merchantId: key.merchantId,
        mode: key.mode,
        status: key.status,
        ...(key.expiresAtMs === undefined ? {} : { expiresAtMs: key.expiresAtMs }),
      }),
    )
  }

  /**
   * Stripe's roll: a new key now, the old one working for `overlapSec` more (0: refused at once).
   * Rolling a key already rolled moves its expiry only sooner, never later.
   */
  async rollKey(
    by: Operator,
    keyId: string,
    overlapSec: number,
  ): Promise<Result<{ key: NewKey; rolled: KeyView }>> {
    return guarded(async () => {
      const old = this.key(keyId)
      if (!old || old.status === 'revoked') throw notFound('active key', keyId)
      const expiresAtMs = Math.min(
        old.expiresAtMs ?? Number.MAX_SAFE_INTEGER,
        Date.now() + overlapSec * 1000,
      )
      this.sql.exec('update api_keys set expires_ms = ? where id = ?', expiresAtMs, keyId)
      const rolled = { ...old, expiresAtMs }
      await this.syncKey(rolled)
      this.audit(by, 'key.roll', keyId, { merchantId: old.merchantId, overlapSec, expiresAtMs })
      const key = await this.mintKey(by, old.merchantId, old.mode)
      return { key, rolled: this.view(rolled) }
    })
  }

  async revokeKey(by: Operator, keyId: string): Promise<Result<KeyView>> {
    return guarded(async () => {
      const old = this.key(keyId)
      if (!old) throw notFound('key', keyId)
      this.sql.exec(`update api_keys set status = 'revoked' where id = ?`, keyId)
      const revoked = { ...old, status: 'revoked' as const }
      // Written again even when it was revoked already: a KV write lost before is made good.
      await this.syncKey(revoked)
      this.audit(by, 'key.revoke', keyId, { merchantId: old.merchantId })
      return this.view(revoked)
    })
  }

  async auditLog(limit: number): Promise<AuditEntry[]> {
    return this.rows('select * from audit order by seq desc limit ?', limit).map((r) => ({
      seq: Number(r.seq),
      atMs: Number(r.at_ms),
      operator: String(r.operator),
      action: String(r.action),
      target: String(r.target),
      detail: JSON.parse(String(r.detail)) as unknown,
    }))
  }

  activeMove(merchantId: string): MoveView | undefined {
    const [r] = this.rows(
      `select * from moves where merchant_id = ? and state <> 'done'`,
      merchantId,
    )
    return r ? moveView(r) : undefined
  }

  async startMove(by: Operator, merchantId: string, to: string) {
    return guarded(() => startMove(this, by, merchantId, to))
  }

  async stepMove(by: Operator, merchantId: string): Promise<Result<MoveView>> {
    return guarded(() => stepMove(this, by, merchantId))
  }

  async abortMove(by: Operator, merchantId: string): Promise<Result<MoveView>> {
    return guarded(() => abortMove(this, by, merchantId))
  }

  async getMove(merchantId: string): Promise<Result<MoveView>> {
    return guarded(() => {
      const move = this.activeMove(merchantId) ?? lastMove(this, merchantId)
      if (!move) throw notFound('move of', merchantId)
      return move
    })
  }

  async evacuate(by: Operator, region: string): Promise<Result<EvacuationPlan>> {
    return guarded(() => evacuationPlan(this, by, region))
  }

  async restore(by: Operator, region: string): Promise<Result<EvacuationPlan>> {
    return guarded(() => restorePlan(this, by, region))
  }
}
