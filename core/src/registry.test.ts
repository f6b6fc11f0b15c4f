import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fleet } from './fleet.ts'
import { parseRegistry, routeOrder } from './registry.ts'

describe('region registry', () => {
  it('gives every merchant an order that lists each region exactly once, the same every time', () => {
    const ids = fleet.regions.map((r) => r.id).sort()
    fc.assert(
      fc.property(fc.stringMatching(/^mer_[a-z0-9_]{1,20}$/), (merchant) => {
        const order = routeOrder(fleet, merchant)
        expect([...order].sort()).toEqual(ids)
        expect(routeOrder(fleet, merchant)).toEqual(order)
      }),
    )
  })

  it('rejects registries with broken cross-references', () => {
    const [first] = fleet.regions
    if (!first) throw new Error('fleet has regions')
    const duplicate = { regions: [...fleet.regions, { ...first, cidr: '10.99.0.0/16' }] }
    expect(() => parseRegistry(duplicate)).toThrow(/duplicate region/)
    const sharedCidr = { regions: [...fleet.regions, { ...first, id: 'sa-east' }] }
    expect(() => parseRegistry(sharedCidr)).toThrow(/CIDR/)
    expect(() => parseRegistry({ regions: [{ ...first, jurisdiction: 'mars' }] })).toThrow()
    // Merchants are runtime data now: a registry that lists them is refused, not half-read.
    expect(() => parseRegistry({ ...fleet, merchants: [] })).toThrow()
  })
})
