import { decodeEvent } from '@meridian/core'
import { describe, expect, it } from 'vitest'
import { readTopic } from '../harness/kafka.ts'
import { startTestRegion } from '../harness/region.ts'

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
  return line ? Number(line.split(' ').at(-1)) : Number.NaN
}

describe('group commit', () => {
  it('puts many concurrent requests in one Postgres commit, each with its outbox row', async () => {
    const region = await startTestRegion('groupcommit')
    try {
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          region
            .client()
            .post(
              '/v1/payments',
              { amount: 100 + i, currency: 'usd', payment_method: `tok_gc_${i}` },
              `gc-${i}`,
            ),
        ),
      )
      expect(responses.every((r) => r.status === 202)).toBe(true)
      const metrics = await (await fetch(`${region.client().baseUrl}/metrics`)).text()
      const commits = metric(metrics, 'meridian_group_commit_batch_size_count')
      const items = metric(metrics, 'meridian_group_commit_batch_size_sum')
      expect(items).toBe(200)
      expect(commits).toBeLessThan(200)
      const { rows } = await region.db.pool.query<{ n: number }>(
        `select count(*)::int as n from payments p where exists
           (select 1 from outbox o where o.envelope->'payload'->'payment'->>'id' = p.id)`,
      )
      expect(rows[0]?.n).toBe(200)
    } finally {
      await region.stop()
    }
  })
})

describe('graceful shutdown', () => {
  it('finishes in-flight requests and flushes the relay before stopping', async () => {
    const region = await startTestRegion('shutdown')
    let completed = 0
    const inFlight = Array.from({ length: 60 }, (_, i) =>
      region
        .client()
        .post(
          '/v1/payments',
          { amount: 100, currency: 'usd', payment_method: `tok_sd_${i}` },
          `sd-${i}`,
        )
        .catch((error: unknown) => ({ status: 0, error, json: undefined }))
        .finally(() => {
          completed += 1
        }),
    )
    // Stop while requests are still arriving and being processed.
    while (completed < 3) await new Promise((r) => setTimeout(r, 1))
    await region.running.stop()
    const results = await Promise.all(inFlight)
    const acked = results.filter((r) => r.status === 202).map((r) => r.json.id as string)
    // Each request either completed or was never accepted; none failed half-way with a 5xx.
    expect(results.every((r) => r.status === 202 || r.status === 0)).toBe(true)
    expect(acked.length).toBeGreaterThan(0)
    const { rows } = await region.db.pool.query<{ n: number }>(
      'select count(*)::int as n from outbox where sent_at is null',
    )
    expect(rows[0]?.n).toBe(0)
    const messages = await readTopic('us-east', region.config.eventsTopic, acked.length)
    const published = new Set(
      messages.flatMap((m) => {
        const d = decodeEvent(m.value ?? '')
        return d.ok ? [String((d.event.payload.payment as { id: string }).id)] : []
      }),
    )
    expect(acked.filter((id) => !published.has(id))).toEqual([])
    await region.admin.close()
    await region.redis.close()
    await region.db.close()
  })
})
