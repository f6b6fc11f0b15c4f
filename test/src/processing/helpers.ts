import { checkLedger } from '@meridian/regions'
import { expect } from 'vitest'
import type { RegionClient } from '../harness/client.ts'
import { eventually } from '../harness/eventually.ts'
import type { TestDb } from '../harness/pg.ts'

let n = 0
export const key = (label: string) => `${label}-${Date.now()}-${n++}`

export async function createPayment(client: RegionClient, body: Record<string, unknown>) {
  const res = await client.post(
    '/v1/payments',
    { currency: 'usd', payment_method: 'pm_card_visa', ...body },
    key('create'),
  )
  expect(res.status).toBe(202)
  return res.json as { id: string; status: string }
}

// biome-ignore lint/suspicious/noExplicitAny: payment objects are asserted field by field.
type PaymentJson = any

export async function waitFor(
  client: RegionClient,
  id: string,
  check: (p: PaymentJson) => boolean,
  timeoutMs = 20_000,
): Promise<PaymentJson> {
  let last: PaymentJson
  await eventually(async () => {
    last = (await client.get(`/v1/payments/${id}`)).json
    expect(check(last), JSON.stringify(last)).toBe(true)
  }, timeoutMs)
  return last
}

export const statusIs = (status: string) => (p: { status: string; processing: unknown }) =>
  p.status === status && p.processing === null

export async function expectBalancedLedger(db: TestDb): Promise<void> {
  const report = await checkLedger(db.pool)
  expect(report.unbalancedEntries).toEqual([])
  expect(report.balanceMismatches).toEqual([])
  expect(report.thinEntries).toEqual([])
  expect(report.ok).toBe(true)
}
