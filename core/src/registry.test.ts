import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fleet } from './fleet.ts'
import { homeRegion, parseRegistry, routeOrder } from './registry.ts'

describe('region registry', () => {
  it('routes listed merchants by their placement', () => {
    expect(routeOrder(fleet, 'mer_globex')).toEqual(['eu-west', 'us-east', 'ap-south'])
    expect(homeRegion(fleet, 'mer_acme')).toBe('us-east')
  })

  it('gives every merchant an order that lists each region exactly once', () => {
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
    const base = structuredClone(fleet)
    const unknownRegion = structuredClone(base)
    unknownRegion.merchants.push({ merchantId: 'mer_x', home: 'us-west', failover: [] })
    expect(() => parseRegistry(unknownRegion)).toThrow(/unknown region/)
    const partial = structuredClone(base)
    partial.merchants.push({ merchantId: 'mer_y', home: 'us-east', failover: ['eu-west'] })
    expect(() => parseRegistry(partial)).toThrow(/every region/)
    const duplicate = structuredClone(base)
    const [first] = base.regions
    if (!first) throw new Error('fleet has regions')
    duplicate.regions.push({ ...first, cidr: '10.99.0.0/16' })
    expect(() => parseRegistry(duplicate)).toThrow(/duplicate region/)
    expect(() => parseRegistry({ ...base, epoch: 0 })).toThrow()
  })
})
