import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { defaultPartitionMap, parsePartitionMap, partitionFor } from './partitions.ts'

const merchant = fc.stringMatching(/^mer_[a-z0-9]{1,12}$/)

describe('partition map', () => {
  it('puts hot merchants on their own partition and nobody else there', () => {
    const map = parsePartitionMap({ version: 1, partitions: 8, hot: { mer_big: 3, mer_huge: 5 } })
    expect(partitionFor(map, 'mer_big')).toBe(3)
    fc.assert(
      fc.property(merchant, (m) => {
        fc.pre(m !== 'mer_big' && m !== 'mer_huge')
        const p = partitionFor(map, m)
        expect(p).toBeGreaterThanOrEqual(0)
        expect(p).toBeLessThan(8)
        expect([3, 5]).not.toContain(p)
      }),
    )
  })

  it('moves only the merchants that hashed onto a newly dedicated partition', () => {
    fc.assert(
      fc.property(merchant, fc.integer({ min: 0, max: 7 }), (m, hotPartition) => {
        fc.pre(m !== 'mer_hot')
        const before = defaultPartitionMap(8)
        const after = { version: 1, partitions: 8, hot: { mer_hot: hotPartition } }
        if (partitionFor(before, m) !== hotPartition)
          expect(partitionFor(after, m)).toBe(partitionFor(before, m))
      }),
    )
  })

  it('rejects maps that would share or exhaust partitions', () => {
    expect(() => parsePartitionMap({ version: 1, partitions: 2, hot: { a: 0, b: 1 } })).toThrow()
    expect(() => parsePartitionMap({ version: 1, partitions: 4, hot: { a: 1, b: 1 } })).toThrow()
    expect(() => parsePartitionMap({ version: 1, partitions: 4, hot: { a: 9 } })).toThrow()
  })
})
