import { describe, expect, it } from 'vitest'
import { homesAt, type MoveRecord } from './evacuate.ts'

const move = (from: string, to: string, startedMs: number, finishedMs: number): MoveRecord => ({
  merchantId: 'mer_acme',
  from,
  to,
  fromEpoch: 1,
  toEpoch: 2,
  ms: finishedMs - startedMs,
  phasesMs: {},
  startedMs,
  finishedMs,
  returnedMs: finishedMs + 5,
  missingAtHandover: 0,
})

describe('homesAt (failover accounting across planned moves)', () => {
  const moves = [move('us-east', 'eu-west', 1_000, 2_000), move('eu-west', 'us-east', 5_000, 6_000)]
  it('is the onboarded home before any move and after the restore', () => {
    expect(homesAt('us-east', moves, 'mer_acme', 500)).toEqual(['us-east'])
    expect(homesAt('us-east', moves, 'mer_acme', 7_000)).toEqual(['us-east'])
  })
  it('is the region the merchant was moved to between the evacuation and the restore', () => {
    expect(homesAt('us-east', moves, 'mer_acme', 3_000)).toEqual(['eu-west'])
  })
  it('counts both ends while a move runs, up to the moment runMove returned', () => {
    expect(homesAt('us-east', moves, 'mer_acme', 1_500)).toEqual(['us-east', 'eu-west'])
    expect(homesAt('us-east', moves, 'mer_acme', 2_004)).toEqual(['us-east', 'eu-west'])
    expect(homesAt('us-east', moves, 'mer_acme', 5_500)).toEqual(['eu-west', 'us-east'])
  })
  it('ignores other merchants’ moves', () => {
    expect(homesAt('ap-south', moves, 'mer_initech', 3_000)).toEqual(['ap-south'])
  })
})
