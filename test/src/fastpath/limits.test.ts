import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestRegion, type TestRegion, tableCounts } from '../harness/region.ts'

let region: TestRegion
beforeAll(async () => {
  region = await startTestRegion('limits', 'us-east', {
    // One token per ten seconds: the sixth request is limited however slowly the machine runs.
    rate: { perSec: 0.1, burst: 5 },
    fraud: {
      singlePaymentMinorMax: 1_000_00,
      cardPaymentsPerWindowMax: 3,
      merchantPaymentsPerWindowMax: 1000,
      velocityWindowSec: 60,
    },
    blockedCards: ['tok_stolen_card'],
  })
})
afterAll(async () => {
  await region?.stop()
})

const body = (card: string, amount = 100) => ({ amount, currency: 'usd', payment_method: card })

describe('per-merchant rate limit', () => {
  it('answers 429 with Retry-After once the bucket is empty, and writes nothing', async () => {
    const client = region.client('mer_ratelimited')
    const statuses: number[] = []
    for (let i = 0; i < 5; i++)
      statuses.push((await client.post('/v1/payments', body(`tok_rl_${i}`), `rl-${i}`)).status)
    expect(statuses).toEqual([202, 202, 202, 202, 202])
    const counts = await tableCounts(region.db)
    const limited = await client.post('/v1/payments', body('tok_rl_x'), 'rl-x')
    expect(limited.status).toBe(429)
    expect(limited.json.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' })
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1)
    expect(await tableCounts(region.db)).toEqual(counts)
    // Another merchant is unaffected.
    expect(
      (await region.client('mer_other').post('/v1/payments', body('tok_o'), 'o-1')).status,
    ).toBe(202)
  })
})

describe('tier-1 fraud rules record a declined payment with its reason', () => {
  it('declines the card that exceeds its velocity', async () => {
    const client = region.client('mer_velocity')
    const results = []
    for (let i = 0; i < 4; i++)
      results.push((await client.post('/v1/payments', body('tok_busy_card'), `v-${i}`)).json)
    expect(results.map((p) => p.status)).toEqual(['pending', 'pending', 'pending', 'declined'])
    expect(results[3]).toMatchObject({ decline_code: 'fraud_velocity_card' })
    const { rows } = await region.db.pool.query(
      'select status, decline_code, failure_message from payments where id = $1',
      [results[3].id],
    )
    expect(rows[0]).toMatchObject({ status: 'declined', decline_code: 'fraud_velocity_card' })
    expect(rows[0].failure_message).toContain('3 payments with this card')
    const events = await region.db.pool.query(
      "select type from outbox where envelope->'payload'->'payment'->>'id' = $1 order by seq",
      [results[3].id],
    )
    expect(events.rows.map((r) => r.type)).toEqual(['payment.created', 'payment.declined'])
  })

  it('declines a blocked card and an amount over the limit', async () => {
    const client = region.client('mer_rules')
    const blocked = await client.post('/v1/payments', body('tok_stolen_card'), 'r-1')
    expect(blocked.json).toMatchObject({ status: 'declined', decline_code: 'fraud_blocklist' })
    const big = await client.post('/v1/payments', body('tok_fine', 1_000_01), 'r-2')
    expect(big.json).toMatchObject({ status: 'declined', decline_code: 'fraud_amount_over_limit' })
    const fine = await client.post('/v1/payments', body('tok_fine', 1_000_00), 'r-3')
    expect(fine.json.status).toBe('pending')
  })
})
