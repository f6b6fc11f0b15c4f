import { randomBytes } from 'node:crypto'
import {
  checkWebhookUrl,
  createEndpointSchema,
  errors,
  MeridianError,
  newId,
  parseWith,
  replaySchema,
  rollSecretSchema,
  Secret,
  webhookSecretOverlapSecDefault,
} from '@meridian/core'
import type pg from 'pg'
import { editConfig, rollSecrets, type WebhookEndpointConfig } from '../merchant-config.ts'
import { type KeyRing, openSecret, sealSecret } from './secret-box.ts'

export const endpointsPerMerchantMax = 16

interface EndpointRow {
  id: string
  url: string
  enabled_events: string[]
  status: string
  created_at: Date
}

function present(row: EndpointRow, secret?: { sealed: string; previousExpireMs?: number }) {
  return {
    id: row.id,
    object: 'webhook_endpoint',
    url: row.url,
    enabled_events: row.enabled_events,
    status: row.status,
    created: Math.floor(row.created_at.getTime() / 1000),
    // Shown once, when the endpoint is created or its secret rolled; store it to verify
    // Meridian-Signature. The answer is stored for idempotent replays, so it holds the secret
    // sealed; revealStoredSecret opens it on the way out.
    ...(secret ? { secret: secret.sealed } : {}),
    ...(secret?.previousExpireMs === undefined
      ? {}
      : { previous_secrets_expire: Math.ceil(secret.previousExpireMs / 1000) }),
  }
}

function newSecret(ring: KeyRing, endpointId: string, nowMs: number) {
  const secret = new Secret(`whsec_${randomBytes(24).toString('hex')}`)
  const id = `ws_${randomBytes(8).toString('hex')}`
  const entry = { sealed: sealSecret(ring, secret, endpointId), createdMs: nowMs, expiries: {} }
  return { id, entry }
}

/**
 * A stored create or roll answer carries its secret sealed (idempotency records are stored and
 * replicated like any other data); the merchant gets it opened. Other answers pass unchanged.
 */
export function revealStoredSecret(ring: KeyRing, body: string): string {
  if (!body.includes('wse1.')) return body
  const parsed = JSON.parse(body) as { object?: unknown; id?: unknown; secret?: unknown }
  if (
    parsed.object !== 'webhook_endpoint' ||
    typeof parsed.id !== 'string' ||
    typeof parsed.secret !== 'string' ||
    !parsed.secret.startsWith('wse1.')
  )
    return body
  let opened: string
  try {
    opened = openSecret(ring, parsed.secret, parsed.id).reveal()
  } catch (error) {
    // This region's key ring lacks the key (a rotation half rolled out): an outage of this
    // region, not of the request; the edge tries the next region, and a retry is safe.
    throw errors.dependencyUnavailable('webhook secret keys', error)
  }
  return JSON.stringify({ ...parsed, secret: opened })
}

export async function createEndpoint(
  client: pg.PoolClient,
  merchantId: string,
  body: unknown,
  options: { readonly allowLoopback: boolean; readonly live?: boolean; readonly keys: KeyRing },
) {
  const parsed = parseWith(createEndpointSchema, body)
  if (!parsed.ok) throw parsed.error
  // SSRF: no URL into the region's own network. Deliveries check the resolved address again.
  const verdict = checkWebhookUrl(parsed.value.url, {
    requireHttps: options.live === true,
    allowLoopback: options.allowLoopback,
  })
  if (!verdict.ok) {
    throw new MeridianError({
      kind: 'invalid_request',
      code: 'parameter_invalid',
      message: `${verdict.reason}: webhook endpoints must be public addresses.`,
      param: 'url',
    })
  }
  const count = await client.query<{ n: number }>(
    'select count(*)::int as n from webhook_endpoints where merchant_id = $1',
    [merchantId],
  )
  if ((count.rows[0]?.n ?? 0) >= endpointsPerMerchantMax) {
    throw errors.invalidRequest(
      'parameter_invalid',
      `A merchant may have at most ${endpointsPerMerchantMax} webhook endpoints.`,
    )
  }
  const id = newId('webhookEndpoint')
  const createdMs = Date.now()
  const secret = newSecret(options.keys, id, createdMs)
  const enabledEvents = parsed.value.enabled_events ?? ['*']
  const { url } = parsed.value
  // The merchant's configuration document is the source; webhook_endpoints is its view.
  const changes = await editConfig(client, merchantId, (d) => {
    d.webhookEndpoints[id] = {
      url,
      enabledEvents,
      status: 'enabled',
      secrets: { [secret.id]: secret.entry },
      createdMs,
    }
  })
  const row: EndpointRow = {
    id,
    url,
    enabled_events: enabledEvents,
    status: 'enabled',
    created_at: new Date(createdMs),
  }
  return { endpoint: present(row, secret.entry), changes }
}

/**
 * A new signing secret for an endpoint. Every secret still valid keeps signing beside it until
 * `expires_in` seconds from now (never later than it would have anyway); secrets already expired
 * are dropped from the document.
 */
export async function rollSecret(
  client: pg.PoolClient,
  merchantId: string,
  endpointId: string,
  body: unknown,
  keys: KeyRing,
) {
  const parsed = parseWith(rollSecretSchema, body)
  if (!parsed.ok) throw parsed.error
  const { rows } = await client.query<EndpointRow>(
    'select id, url, enabled_events, status, created_at from webhook_endpoints where id = $1 and merchant_id = $2',
    [endpointId, merchantId],
  )
  const row = rows[0]
  if (!row) throw errors.notFound('webhook endpoint', endpointId)
  const nowMs = Date.now()
  const expireMs = nowMs + 1000 * (parsed.value.expires_in ?? webhookSecretOverlapSecDefault)
  const secret = newSecret(keys, endpointId, nowMs)
  const changes = await editConfig(client, merchantId, (d) => {
    const endpoint: WebhookEndpointConfig | undefined = d.webhookEndpoints[endpointId]
    if (!endpoint) throw errors.notFound('webhook endpoint', endpointId)
    rollSecrets(endpoint, secret.id, secret.entry, nowMs, expireMs)
  })
  return { endpoint: present(row, { ...secret.entry, previousExpireMs: expireMs }), changes }
}

export async function listEndpoints(pool: pg.Pool, merchantId: string) {
  const { rows } = await pool.query<EndpointRow>(
    'select id, url, enabled_events, status, created_at from webhook_endpoints where merchant_id = $1 order by id',
    [merchantId],
  )
  return {
    object: 'list',
    url: '/v1/webhook_endpoints',
    has_more: false,
    data: rows.map((r) => present(r)),
  }
}

/** Put dead-lettered deliveries of an endpoint (or of one event) back in the queue. */
export async function replayDeadLetters(
  pool: pg.Pool | pg.PoolClient,
  merchantId: string,
  endpointId: string,
  body: unknown,
) {
  const parsed = parseWith(replaySchema, body)
  if (!parsed.ok) throw parsed.error
  const owned = await pool.query(
    'select 1 from webhook_endpoints where id = $1 and merchant_id = $2',
    [endpointId, merchantId],
  )
  if (owned.rowCount === 0) throw errors.notFound('webhook endpoint', endpointId)
  const { rows } = await pool.query<{ delivery_id: string }>(
    `with requeued as (
       update webhook_deliveries set status = 'pending', attempts = 0, first_attempt_at = null,
         next_attempt_at = now(), last_error = null
       where endpoint_id = $1 and status = 'dead' and ($2::text is null or event_id = $2)
       returning id)
     update webhook_dead_letters set replayed_at = now() where delivery_id in (select id from requeued)
     returning delivery_id`,
    [endpointId, parsed.value.event_id ?? null],
  )
  return { object: 'webhook_replay', endpoint: endpointId, requeued: rows.length }
}

export function assertHttpUrl(url: string): void {
  if (!/^https?:\/\//.test(url)) {
    throw new MeridianError({
      kind: 'invalid_request',
      code: 'parameter_invalid',
      message: 'url must be http(s)',
      param: 'url',
    })
  }
}
