import { describe, expect, it } from 'vitest'
import {
  applyToDoc,
  docContent,
  editDoc,
  loadConfig,
  type MerchantConfig,
  rollSecrets,
  secretsNewestFirst,
  type WebhookEndpointConfig,
  webhookSecretExpiredKeptMs,
  webhookSecretsValidMax,
} from './merchant-config.ts'

type Doc = ReturnType<typeof loadConfig>
const secret = (name: string, createdMs: number) => ({
  sealed: `wse1.${name}`,
  createdMs,
  expiries: {},
})
const base = editDoc(loadConfig(undefined), (d) => {
  d.webhookEndpoints.we_1 = {
    url: 'https://merchant.example/hooks',
    enabledEvents: ['*'],
    status: 'enabled',
    secrets: { ws_0: secret('s0', 1) },
    createdMs: 1,
  }
}).doc

function roll(doc: Doc, id: string, nowMs: number, expireMs: number, actor?: string) {
  return editDoc(
    doc,
    (d: MerchantConfig) => {
      const e = d.webhookEndpoints.we_1
      if (e) rollSecrets(e, id, secret(id, nowMs), nowMs, expireMs)
    },
    actor,
  )
}
const view = (doc: Doc) =>
  secretsNewestFirst(doc.webhookEndpoints.we_1?.secrets).map((s) => [s.id, s.expiresMs] as const)

describe('webhook secrets in the merchant configuration', () => {
  it('a roll adds the new secret and puts an expiry on the ones it replaces', () => {
    expect(view(roll(base, 'ws_1', 10, 5_000).doc)).toEqual([
      ['ws_1', undefined],
      ['ws_0', 5_000],
    ])
  })

  it('never extends an expiry, and drops a secret an hour after it expired', () => {
    const twice = roll(roll(base, 'ws_1', 10, 100).doc, 'ws_2', 20, 1_000).doc
    expect(view(twice)).toEqual([
      ['ws_2', undefined],
      ['ws_1', 1_000],
      ['ws_0', 100],
    ])
    // ws_0 expired at 100: still listed within the hour (a fast clock elsewhere cannot drop it).
    expect(view(roll(twice, 'ws_3', 1_100, 2_000).doc).map(([id]) => id)).toContain('ws_0')
    const later = roll(twice, 'ws_3', 100 + webhookSecretExpiredKeptMs, 2e9).doc
    expect(view(later).map(([id]) => id)).toEqual(['ws_3', 'ws_2', 'ws_1'])
  })

  it(`keeps at most ${webhookSecretsValidMax} secrets signing: a roll retires the oldest at once`, () => {
    let doc = base
    for (let i = 1; i <= 4; i++) doc = roll(doc, `ws_${i}`, i * 10, 1e12).doc
    const valid = view(doc).filter(([, expiry]) => expiry === undefined || expiry > 40)
    expect(valid.map(([id]) => id)).toEqual(['ws_4', 'ws_3', 'ws_2'])
  })

  it('two regions rolling at once both keep their new secret after the merge', () => {
    const east = roll(base, 'ws_east', 10, 500)
    const west = roll(base, 'ws_west', 11, 600)
    const inEast = applyToDoc(east.doc, west.changes).doc
    const inWest = applyToDoc(west.doc, east.changes).doc
    expect(docContent(inEast)).toBe(docContent(inWest))
    expect(
      view(inEast)
        .filter(([, e]) => e === undefined)
        .map(([id]) => id),
    ).toEqual(['ws_west', 'ws_east'])
  })

  it('a revocation and a concurrent roll with an overlap: the revocation holds, whichever edit wins', () => {
    // Automerge settles a conflict on one field by actor id: try both orders, many times.
    for (let i = 0; i < 20; i++) {
      const actor = (n: number) => (n * 16 + i).toString(16).padStart(8, '0')
      const revoke = roll(base, 'ws_now', 10, 10, actor(1 + (i % 2)))
      const overlap = roll(base, 'ws_day', 11, 86_400_000, actor(2 - (i % 2)))
      const merged = applyToDoc(revoke.doc, overlap.changes).doc
      expect(Object.fromEntries(view(merged)).ws_0, `try ${i}`).toBe(10)
    }
  })

  it('rolls an endpoint written before sealing: the plaintext field goes', () => {
    const legacy = editDoc(loadConfig(undefined), (d) => {
      const old = {
        url: 'https://merchant.example/hooks',
        enabledEvents: ['*'],
        status: 'enabled',
        secret: 'whsec_plaintext',
        createdMs: 1,
      }
      d.webhookEndpoints.we_1 = old as unknown as WebhookEndpointConfig
    }).doc
    const rolled = roll(legacy, 'ws_1', 10, 10).doc
    expect(docContent(rolled)).not.toContain('whsec_plaintext')
    expect(view(rolled)).toEqual([['ws_1', undefined]])
  })
})
