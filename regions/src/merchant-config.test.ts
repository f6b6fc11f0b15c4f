import { describe, expect, it } from 'vitest'
import {
  applyToDoc,
  docContent,
  editDoc,
  loadConfig,
  rollSecrets,
  secretsNewestFirst,
} from './merchant-config.ts'

const endpoint = (secrets: Record<string, { sealed: string; createdMs: number }>) => ({
  url: 'https://merchant.example/hooks',
  enabledEvents: ['*'],
  status: 'enabled' as const,
  secrets,
  createdMs: 1,
})

describe('webhook secrets in the merchant configuration', () => {
  const base = editDoc(loadConfig(undefined), (d) => {
    d.webhookEndpoints.we_1 = endpoint({ ws_0: { sealed: 'wse1.s0', createdMs: 1 } })
  }).doc

  it('a roll adds the new secret and puts an expiry on the ones it replaces', () => {
    const { doc } = editDoc(base, (d) => {
      const e = d.webhookEndpoints.we_1
      if (e) rollSecrets(e, 'ws_1', { sealed: 'wse1.s1', createdMs: 10 }, 10, 5_000)
    })
    expect(secretsNewestFirst(doc.webhookEndpoints.we_1?.secrets)).toEqual([
      { id: 'ws_1', sealed: 'wse1.s1', createdMs: 10 },
      { id: 'ws_0', sealed: 'wse1.s0', createdMs: 1, expiresMs: 5_000 },
    ])
  })

  it('a roll drops secrets already expired and never extends an expiry', () => {
    const rolled = (d: ReturnType<typeof loadConfig>, id: string, nowMs: number, exp: number) =>
      editDoc(d, (x) => {
        const e = x.webhookEndpoints.we_1
        if (e) rollSecrets(e, id, { sealed: `wse1.${id}`, createdMs: nowMs }, nowMs, exp)
      }).doc
    const once = rolled(base, 'ws_1', 10, 100)
    const twice = rolled(once, 'ws_2', 20, 1_000)
    expect(
      secretsNewestFirst(twice.webhookEndpoints.we_1?.secrets).map((s) => [s.id, s.expiresMs]),
    ).toEqual([
      ['ws_2', undefined],
      ['ws_1', 1_000],
      ['ws_0', 100],
    ])
    const later = rolled(twice, 'ws_3', 200, 2_000)
    expect(Object.keys(later.webhookEndpoints.we_1?.secrets ?? {}).sort()).toEqual([
      'ws_1',
      'ws_2',
      'ws_3',
    ])
  })

  it('two regions rolling at once both keep their new secret after the merge', () => {
    const east = editDoc(base, (d) => {
      const e = d.webhookEndpoints.we_1
      if (e) rollSecrets(e, 'ws_east', { sealed: 'wse1.east', createdMs: 10 }, 10, 500)
    })
    const west = editDoc(base, (d) => {
      const e = d.webhookEndpoints.we_1
      if (e) rollSecrets(e, 'ws_west', { sealed: 'wse1.west', createdMs: 11 }, 11, 600)
    })
    const inEast = applyToDoc(east.doc, west.changes).doc
    const inWest = applyToDoc(west.doc, east.changes).doc
    expect(docContent(inEast)).toBe(docContent(inWest))
    const valid = secretsNewestFirst(inEast.webhookEndpoints.we_1?.secrets)
      .filter((s) => s.expiresMs === undefined)
      .map((s) => s.id)
    expect(valid.sort()).toEqual(['ws_east', 'ws_west'])
  })
})
