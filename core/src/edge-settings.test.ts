import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type EdgeSettings, edgeDefaults, fromEnv, toEnv, variables } from './edge-settings.ts'
import { requiredNames } from './settings.ts'

// fc.webUrl() costs ~10 ms a sample, enough to push a 100-run property past vitest's 5 s timeout
// on a loaded machine; the settings carry any text, so a plain origin shape is enough.
const origin = fc.stringMatching(/^https?:\/\/[a-z0-9-]{1,12}(\.[a-z]{2,5}){0,2}(:[1-9]\d{1,3})?$/)

const required = {
  EDGE_SECRET: 's',
  UPSTASH_REDIS_REST_URL: 'http://u',
  UPSTASH_REDIS_REST_TOKEN: 't',
}
const positive = fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true })

const settingsArb: fc.Arbitrary<EdgeSettings> = fc
  .record({
    edgeSecret: fc.string({ minLength: 1 }),
    upstash: fc.record({ url: fc.string({ minLength: 1 }), token: fc.string({ minLength: 1 }) }),
    rateLimitPerSec: positive,
    regionTimeoutMs: fc.integer({ min: 1 }),
    failbackHealthyMs: fc.integer({ min: 1 }),
    failbackRampMs: positive,
    placementWaitMsMax: fc.integer({ min: 1 }),
    edgeName: fc.string(),
  })
  .chain((base) =>
    fc
      .option(fc.dictionary(fc.stringMatching(/^[a-z]{2}-[a-z]+$/), origin, { minKeys: 1 }), {
        nil: undefined,
      })
      .map((regionOrigins) => (regionOrigins ? { ...base, regionOrigins } : base)),
  )

// Node runs these (the unit project): edge-settings.ts is pure, as the Worker and infra both import it.
describe('edge settings', () => {
  it('reads back whatever it writes: fromEnv(toEnv(s)) is s', () => {
    fc.assert(
      fc.property(settingsArb, (settings) => {
        expect(fromEnv(toEnv(settings))).toEqual(settings)
      }),
    )
  })

  it('keeps every default in code: an edge told only its credentials runs on edgeDefaults', () => {
    expect(requiredNames(variables).sort()).toEqual(Object.keys(required).sort())
    expect(fromEnv(required)).toEqual({
      edgeSecret: 's',
      upstash: { url: 'http://u', token: 't' },
      ...edgeDefaults,
    })
  })

  it('names the variable that is wrong', () => {
    expect(() => fromEnv({ ...required, EDGE_SECRET: '' })).toThrow(
      /^edge configuration: .*EDGE_SECRET/,
    )
    expect(() => fromEnv({ ...required, REGION_ORIGINS: '{' })).toThrow(/REGION_ORIGINS/)
  })

  it('runs on the default where a tuning number is not a positive number, as before', () => {
    for (const text of ['-1', '0', '', 'fast', 'Infinity'])
      expect(fromEnv({ ...required, REGION_TIMEOUT_MS: text, RATE_LIMIT_PER_SEC: text })).toEqual(
        fromEnv(required),
      )
  })
})
