import { describe, expect, it } from 'vitest'
import { fromEnv, toEnv, type UpstashSettings } from './upstash-settings.ts'

describe('Upstash stand-in settings', () => {
  const table: UpstashSettings[] = [{ token: 't' }, { token: 't', redisUrl: 'redis://r:6379' }]
  it.each(table)('reads back whatever it writes: %j', (settings) => {
    expect(fromEnv(toEnv(settings))).toEqual(settings)
  })

  it('names the variable that is missing', () => {
    expect(() => fromEnv({})).toThrow(/^upstash configuration: .*UPSTASH_TOKEN/)
  })
})
