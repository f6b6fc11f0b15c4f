import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeEvent, defaultPartitionMap, partitionFor } from '@meridian/core'
import type { Batch, BusConsumer } from '@meridian/platform'
import { describe, expect, it } from 'vitest'
import { eventually } from '../harness/eventually.ts'
import { createTestTopic, testBus } from '../harness/kafka.ts'
import { uniqueName } from '../harness/names.ts'
import { startTestRegion } from '../harness/region.ts'

describe('hot merchants', () => {
  it('a dedicated consumer gets its claimed partition and nobody else does', async () => {
    const bus = testBus('eu-west')
    const admin = await bus.admin()
    const topic = await createTestTopic(admin, 'claims', 4)
    const groupId = uniqueName('claims')
    const seen: Record<string, number[]> = {}
    const consumer = (name: string, claims?: number[]) => {
      const c = bus.consumer({
        groupId,
        topics: [topic],
        ...(claims ? { claims: { [topic]: claims } } : {}),
        onAssign: async (assignment) => {
          seen[name] = [...(assignment[topic] ?? [])].sort()
          return []
        },
      })
      return c
    }
    const hot = consumer('hot', [2])
    const cold = consumer('cold')
    await hot.start(async () => {})
    await cold.start(async () => {})
    await eventually(() => expect(seen).toEqual({ hot: [2], cold: [0, 1, 3] }), 30_000)
    await hot.stop()
    await cold.stop()
    await admin.close()
  })

  it('repartitioning drains the old partition first, so a merchant’s events stay in order', async () => {
    const mapFile = join(tmpdir(), `${uniqueName('map')}.json`)
    const region = await startTestRegion('hotmap', 'eu-west', {
      eventsPartitions: 4,
      partitionMapFile: mapFile,
    })
    const merchant = 'mer_hot'
    const before = partitionFor(defaultPartitionMap(4), merchant)
    const dedicated = (before + 1) % 4
    const consumed: { id: string; partition: number }[] = []
    // These consumers play the processor workers (the relay waits for this group's progress):
    // the hot merchant's dedicated partition has its own fast consumer; the shared partitions a
    // slow one, so the old partition still has a backlog when the map changes.
    const groupId = `${region.config.eventsTopic}.${region.config.databaseSchema}.workers`
    const record = (slowMs: number) => async (batch: Batch) => {
      for (const m of batch.messages) {
        const d = decodeEvent(m.value ?? '')
        if (d.ok && d.event.type === 'payment.created' && d.event.merchant_id === merchant) {
          consumed.push({
            id: String((d.event.payload.payment as { id: string }).id),
            partition: batch.partition,
          })
          await new Promise((r) => setTimeout(r, slowMs))
        }
      }
    }
    const topics = [region.config.eventsTopic]
    const cold: BusConsumer = testBus('eu-west').consumer({ groupId, topics, fromBeginning: true })
    const hot: BusConsumer = testBus('eu-west').consumer({
      groupId,
      topics,
      fromBeginning: true,
      claims: { [topics[0] ?? '']: [dedicated] },
    })
    await cold.start(record(150))
    await hot.start(record(0))
    const workers = { stop: async () => Promise.all([cold.stop(), hot.stop()]) }
    try {
      const client = region.client(merchant)
      const created: string[] = []
      const pay = async (n: number) => {
        for (let i = 0; i < n; i++) {
          created.push(
            (
              await client.post(
                '/v1/payments',
                { amount: 100 + i, currency: 'usd', payment_method: `tok_h${created.length}` },
                `hot-${created.length}`,
              )
            ).json.id,
          )
        }
      }
      await pay(20)
      writeFileSync(
        mapFile,
        JSON.stringify({ version: 1, partitions: 4, hot: { [merchant]: dedicated } }),
      )
      // Reloaded without a restart: wait until the relay routes by version 1.
      await eventually(async () => {
        const metrics = await (await fetch(`${client.baseUrl}/metrics`)).text()
        expect(metrics).toMatch(/meridian_partition_map_version\{[^}]*\} 1/)
      })
      await pay(20)
      await eventually(() => expect(consumed).toHaveLength(40), 60_000)
      expect(consumed.map((c) => c.id)).toEqual(created)
      expect(consumed.slice(0, 20).every((c) => c.partition === before)).toBe(true)
      expect(consumed.at(-1)?.partition).toBe(dedicated)
    } finally {
      await workers.stop()
      await region.stop()
    }
  })
})
