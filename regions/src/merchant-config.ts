import { randomBytes } from 'node:crypto'
import * as A from '@automerge/automerge'
import { canonicalJson } from '@meridian/core'
import type pg from 'pg'

/**
 * Merchant configuration as an Automerge document per merchant: edits made in different regions
 * (during a failover, or a partition) merge without losing either. Changes travel in
 * `merchant.config_changed` events as Automerge changes; the webhook_endpoints table is the
 * materialized view the dispatcher reads.
 */
export interface WebhookEndpointConfig {
  url: string
  enabledEvents: string[]
  status: 'enabled' | 'disabled'
  /**
   * Signing secrets by id, sealed (webhooks/secret-box.ts): never plaintext in the document,
   * which every region stores and Kafka carries. A map rather than one field so that two regions
   * rolling at once both keep their new secret (each merchant got one of them).
   */
  secrets: Record<string, WebhookSecretConfig>
  createdMs: number
}

export interface WebhookSecretConfig {
  sealed: string
  createdMs: number
  /**
   * When the secret stops signing, as set by each roll that retired it (roll id → ms); the
   * earliest counts. One entry per roll, in a map born with the secret, so two regions rolling at
   * once (one revoking now, one with the default overlap) both land, and the sooner one wins:
   * a single field would keep one of the two at random.
   */
  expiries: Record<string, number>
}

/** Most secrets that sign at once: the newest and two still in their overlap. */
export const webhookSecretsValidMax = 3
/** An expired secret stays in the document this long, so a region whose clock runs ahead
 * cannot retire a secret for the others before its time. */
export const webhookSecretExpiredKeptMs = 3600_000

export function secretExpiryMs(secret: Pick<WebhookSecretConfig, 'expiries'>): number | undefined {
  const all = Object.values(secret.expiries ?? {})
  return all.length === 0 ? undefined : Math.min(...all)
}

/**
 * Roll an endpoint's secrets inside a document edit: `entry` joins as `id`; every other secret
 * still valid expires at `expireMs` at the latest (the roll's own entry in its expiries), the
 * oldest at once when more than webhookSecretsValidMax would sign; long-expired ones are dropped.
 */
export function rollSecrets(
  endpoint: WebhookEndpointConfig,
  id: string,
  entry: WebhookSecretConfig,
  nowMs: number,
  expireMs: number,
): void {
  // A document from before sealing: its plaintext field goes, the map starts here.
  const legacy = endpoint as WebhookEndpointConfig & { secret?: unknown }
  if (legacy.secret !== undefined) delete legacy.secret
  if (endpoint.secrets === undefined) endpoint.secrets = {}
  const stillValid: [string, WebhookSecretConfig][] = []
  for (const [other, s] of Object.entries(endpoint.secrets)) {
    const expiry = secretExpiryMs(s)
    if (expiry !== undefined && expiry + webhookSecretExpiredKeptMs <= nowMs)
      delete endpoint.secrets[other]
    else if (expiry === undefined || expiry > nowMs) stillValid.push([other, s])
  }
  stillValid.sort(([a, x], [b, y]) => y.createdMs - x.createdMs || (a < b ? -1 : a > b ? 1 : 0))
  stillValid.forEach(([, s], i) => {
    const retire = i >= webhookSecretsValidMax - 1 ? nowMs : expireMs
    const expiry = secretExpiryMs(s)
    if (expiry === undefined || expiry > retire) s.expiries[id] = retire
  })
  endpoint.secrets[id] = entry
}

/** The secrets of an endpoint as the view stores them: newest first, ties by id. */
export function secretsNewestFirst(
  secrets: Readonly<Record<string, WebhookSecretConfig>> | undefined,
): { id: string; sealed: string; createdMs: number; expiresMs?: number }[] {
  return Object.entries(secrets ?? {})
    .map(([id, s]) => {
      const expiresMs = secretExpiryMs(s)
      return {
        id,
        sealed: s.sealed,
        createdMs: s.createdMs,
        ...(expiresMs === undefined ? {} : { expiresMs }),
      }
    })
    .sort((a, b) => b.createdMs - a.createdMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export interface MerchantConfig {
  webhookEndpoints: Record<string, WebhookEndpointConfig>
  limits: { ratePerSec?: number }
  home?: string
  failover?: string[]
}

/**
 * Every region starts every merchant's document from the same genesis change (fixed actor, fixed
 * time), so their first edits are edits of one shared object rather than rival creations of it.
 */
const genesis: Uint8Array = A.save(
  A.change(A.init<MerchantConfig>({ actor: '00000000' }), { time: 0, message: 'genesis' }, (d) => {
    d.webhookEndpoints = {}
    d.limits = {}
  }),
)

export function loadConfig(bytes: Uint8Array | undefined): A.Doc<MerchantConfig> {
  return A.load<MerchantConfig>(bytes ?? genesis)
}

/** A fresh actor per edit: no two processes ever reuse an (actor, sequence) pair. */
function newActor(): string {
  return randomBytes(16).toString('hex')
}

export function encodeChanges(changes: readonly Uint8Array[]): string[] {
  return changes.map((c) => Buffer.from(c).toString('base64'))
}

export function decodeChanges(changes: readonly string[]): Uint8Array[] {
  return changes.map((c) => new Uint8Array(Buffer.from(c, 'base64')))
}

/**
 * A local edit of a document, and the changes that carry it to other regions. Concurrent edits
 * of one field resolve by actor id, so `actor` (hex) makes a replay exact (the simulator's seeds).
 */
export function editDoc(
  doc: A.Doc<MerchantConfig>,
  edit: (d: MerchantConfig) => void,
  actor: string = newActor(),
): { doc: A.Doc<MerchantConfig>; changes: string[] } {
  const before = A.clone(doc, { actor })
  const after = A.change(before, edit)
  return { doc: after, changes: encodeChanges(A.getChanges(before, after)) }
}

/**
 * Pure: merge changes made elsewhere; applying a change twice is a no-op. A change whose
 * dependencies have not arrived yet (another region's edit it was made on top of) cannot apply;
 * it comes back in `pending`, to be retried with the next changes. Nothing is dropped.
 */
export function applyToDoc(
  doc: A.Doc<MerchantConfig>,
  changes: readonly string[],
  pending: readonly string[] = [],
): { doc: A.Doc<MerchantConfig>; pending: string[] } {
  const all = [...new Set([...pending, ...changes])]
  const [merged] = A.applyChanges(doc, decodeChanges(all))
  const applied = (c: string) => {
    const [bytes] = decodeChanges([c])
    return bytes !== undefined && A.hasHeads(merged, [A.decodeChange(bytes).hash])
  }
  // Automerge 3 keeps such queued changes in a saved document too; carrying them explicitly as
  // well means correctness does not rest on that detail of the storage format.
  return { doc: A.load<MerchantConfig>(A.save(merged)), pending: all.filter((c) => !applied(c)) }
}

/** The document's content, canonically: equal documents give equal text whatever their history. */
export function docContent(doc: A.Doc<MerchantConfig>): string {
  return canonicalJson(A.toJS(doc))
}

interface ConfigRow {
  readonly doc: A.Doc<MerchantConfig>
  readonly pending: string[]
}

async function readRow(client: pg.PoolClient, merchantId: string): Promise<ConfigRow> {
  // Make sure there is a row to lock: two transactions starting a merchant's document at once
  // would otherwise both start from genesis, and the second write would lose the first edit.
  await client.query(
    'insert into merchant_configs (merchant_id, doc) values ($1, $2) on conflict do nothing',
    [merchantId, Buffer.from(genesis)],
  )
  const { rows } = await client.query<{ doc: Buffer; pending_changes: string[] }>(
    'select doc, pending_changes from merchant_configs where merchant_id = $1 for update',
    [merchantId],
  )
  const row = rows[0]
  return {
    doc: loadConfig(row ? new Uint8Array(row.doc) : undefined),
    pending: row?.pending_changes ?? [],
  }
}

async function writeRow(client: pg.PoolClient, merchantId: string, row: ConfigRow): Promise<void> {
  await client.query(
    'update merchant_configs set doc = $2, pending_changes = $3, updated_at = now() where merchant_id = $1',
    [merchantId, Buffer.from(A.save(row.doc)), row.pending],
  )
}

/** Rebuild the merchant's rows in webhook_endpoints from the document. */
export async function materializeEndpoints(
  client: pg.PoolClient,
  merchantId: string,
  doc: A.Doc<MerchantConfig>,
): Promise<void> {
  for (const [id, e] of Object.entries(doc.webhookEndpoints)) {
    await client.query(
      `insert into webhook_endpoints (id, merchant_id, url, secrets, enabled_events, status, created_at)
       values ($1, $2, $3, $4, $5, $6, to_timestamp($7 / 1000.0))
       on conflict (id) do update set url = excluded.url, enabled_events = excluded.enabled_events,
         status = excluded.status, secrets = excluded.secrets`,
      [
        id,
        merchantId,
        e.url,
        JSON.stringify(secretsNewestFirst(e.secrets)),
        [...e.enabledEvents],
        e.status,
        e.createdMs,
      ],
    )
  }
}

/** Make a local edit: returns the Automerge changes to ship. Runs inside the caller's transaction. */
export async function editConfig(
  client: pg.PoolClient,
  merchantId: string,
  edit: (d: MerchantConfig) => void,
): Promise<string[]> {
  const row = await readRow(client, merchantId)
  const { doc, changes } = editDoc(row.doc, edit)
  await writeRow(client, merchantId, { doc, pending: row.pending })
  await materializeEndpoints(client, merchantId, doc)
  return changes
}

/** Merge changes another region made (those waiting on dependencies are kept, not lost). */
export async function applyConfigChanges(
  client: pg.PoolClient,
  merchantId: string,
  changes: readonly string[],
): Promise<void> {
  const row = await readRow(client, merchantId)
  const merged = applyToDoc(row.doc, changes, row.pending)
  await writeRow(client, merchantId, merged)
  await materializeEndpoints(client, merchantId, merged.doc)
}

/** A stable summary for digests: the document's content, not its history. */
export async function configSummary(
  db: pg.Pool | pg.PoolClient,
  merchantId: string,
): Promise<string> {
  const { rows } = await db.query<{ doc: Buffer }>(
    'select doc from merchant_configs where merchant_id = $1',
    [merchantId],
  )
  if (!rows[0]) return ''
  return docContent(loadConfig(new Uint8Array(rows[0].doc)))
}
