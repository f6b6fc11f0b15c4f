import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MeridianError } from './errors.ts'
import { fleet } from './fleet.ts'
import {
  admitWrite,
  joinPlacements,
  movedPlacement,
  newPlacement,
  type Placement,
  placementProblem,
  type Residency,
  residencies,
  routeOf,
} from './placement.ts'

const regionIds = fleet.regions.map((r) => r.id)
const jurisdictionOf = (id: string) => fleet.regions.find((r) => r.id === id)?.jurisdiction

describe('placements', () => {
  it('keeps every region of a resident merchant inside its jurisdiction, and refuses a home outside', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...residencies),
        fc.constantFrom(...regionIds),
        (residency, home) => {
          const allowed = residency === 'global' || jurisdictionOf(home) === residency
          if (!allowed) {
            expect(() => newPlacement(fleet, { merchantId: 'mer_x', home, residency })).toThrow(
              MeridianError,
            )
            return
          }
          const p = newPlacement(fleet, { merchantId: 'mer_x', home, residency })
          for (const r of routeOf(p))
            if (residency !== 'global') expect(jurisdictionOf(r)).toBe(residency)
          if (residency === 'global') expect([...routeOf(p)].sort()).toEqual([...regionIds].sort())
          expect(placementProblem(fleet, p)).toBeUndefined()
        },
      ),
    )
  })

  it('refuses to move an eu-resident merchant out of the eu', () => {
    const eu = newPlacement(fleet, { merchantId: 'mer_eu', home: 'eu-west', residency: 'eu' })
    expect(eu.failover).toEqual([])
    expect(() => movedPlacement(fleet, eu, 'us-east')).toThrow(/residency eu; us-east is outside/)
    // A placement edited by hand to break it is named as broken, not used.
    expect(placementProblem(fleet, { ...eu, failover: ['ap-south'] })).toMatch(/outside/)
  })

  it('moves to the next epoch, keeps the processing home, and lists the old home first to fail over to', () => {
    const p = newPlacement(fleet, { merchantId: 'mer_m', home: 'us-east', residency: 'global' })
    const moved = movedPlacement(fleet, p, 'eu-west')
    expect(moved).toMatchObject({ home: 'eu-west', epoch: 2, processingHome: 'us-east' })
    expect(routeOf(moved)).toHaveLength(regionIds.length)
    const back = movedPlacement(fleet, moved, 'us-east')
    expect(back).toMatchObject({ home: 'us-east', epoch: 3, processingHome: 'us-east' })
  })

  it('merges copies as a join: order, grouping and repetition do not matter; the higher epoch wins', () => {
    const base = newPlacement(fleet, { merchantId: 'mer_j', home: 'us-east', residency: 'global' })
    const copy = fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.constantFrom(...regionIds))
      .map(([epoch, home]): Placement => ({ ...movedPlacement(fleet, base, home), epoch }))
    fc.assert(
      fc.property(copy, copy, copy, (a, b, c) => {
        expect(joinPlacements(a, b)).toEqual(joinPlacements(b, a))
        expect(joinPlacements(a, joinPlacements(b, c))).toEqual(
          joinPlacements(joinPlacements(a, b), c),
        )
        expect(joinPlacements(a, a)).toEqual(a)
        expect(joinPlacements(a, b).epoch).toBe(Math.max(a.epoch, b.epoch))
        expect(joinPlacements(a, b).processingHome).toBe('us-east')
      }),
    )
  })

  it('admits a write only under the current epoch, never a fenced or a stale one, never outside the residency', () => {
    const known = (epoch: number, fencedEpoch: number, residency: Residency = 'global') => ({
      epoch,
      fencedEpoch,
      residency,
    })
    expect(admitWrite(undefined, 1, 'us')).toEqual({ ok: true })
    expect(admitWrite(known(3, 2), 3, 'us')).toEqual({ ok: true })
    expect(admitWrite(known(3, 2), 4, 'us')).toEqual({ ok: true })
    expect(admitWrite(known(3, 3), 3, 'us')).toEqual({ ok: false, reason: 'moving' })
    expect(admitWrite(known(3, 2), 2, 'us')).toEqual({ ok: false, reason: 'moving' })
    expect(admitWrite(known(3, 1), 2, 'us')).toEqual({ ok: false, reason: 'stale' })
    expect(admitWrite(known(1, 0, 'eu'), 1, 'us')).toEqual({ ok: false, reason: 'residency' })
    expect(admitWrite(known(1, 0, 'eu'), 1, 'eu')).toEqual({ ok: true })
  })
})
