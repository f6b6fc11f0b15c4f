import { describe, expect, it } from 'vitest'
import { fromEnv, type SimulatorSettings, toEnv } from './settings.ts'

describe('simulator settings', () => {
  const table: SimulatorSettings[] = [
    { faults: {} },
    { portBase: 4200, faults: {}, seed: 0 },
    { portBase: 0, faults: { errorRate: 0.25, latencyMsMax: 5 }, seed: 42 },
  ]
  it.each(table)('reads back whatever it writes: %j', (settings) => {
    expect(fromEnv(toEnv(settings))).toEqual(settings)
  })

  it('names the variable that is wrong', () => {
    expect(() => fromEnv({ SIM_FAULTS: '{"errorRate":' })).toThrow(/SIM_FAULTS/)
    expect(() => fromEnv({ SIM_FAULTS: '{"typo":1}' })).toThrow(/SIM_FAULTS/)
    expect(() => fromEnv({ SIM_SEED: 'x' })).toThrow(/^simulators configuration: .*SIM_SEED/)
  })
})
