import { describe, expect, it } from 'vitest'
import { divergedRegions } from './checker.ts'

describe('divergedRegions', () => {
  it('names the regions outside the majority digest', () => {
    expect(divergedRegions({ a: 'x', b: 'x', c: 'x' })).toEqual([])
    expect(divergedRegions({ a: 'x', b: 'y', c: 'x' })).toEqual(['b'])
    expect(divergedRegions({ a: 'y', b: 'x', c: 'x' })).toEqual(['a'])
  })

  it('on a tie keeps the first region and names the rest', () => {
    expect(divergedRegions({ a: 'x', b: 'y' })).toEqual(['b'])
    expect(divergedRegions({ a: 'x', b: 'y', c: 'z' })).toEqual(['b', 'c'])
  })
})
