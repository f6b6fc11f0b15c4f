import { HybridClock, topicsFor } from '@meridian/core'
import { quietLogger } from '@meridian/platform'
import {
  dedupeRetentionMs,
  pruneAppliedRecords,
  replicatedTopic,
  startReplication,
} from '@meridian/replication'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { paymentCreated } from '../harness/events.ts'
import { eventually } from '../harness/eventually.ts'
import { brokerFor, testBus } from '../harness/kafka.ts'
import { uniqueName } from '../harness/names.ts'
import { createTestDb, type TestDb } from '../harness/pg.ts'

const partitions = 4
const perPartition = 10

let db: TestDb
beforeAll(async () => {
  db = await createTestDb('applier')
})
afterAll(async () => {
  await db?.close()
})

describe('the applier', () => {
  it('applies partitions that arrive together in shared transactions, each event once', async () => {
    // Copies from us-east already waiting in eu-west's cluster, one merchant per partition.
    const namespace = `${uniqueName('grouped')}_`
    const topic = replicatedTopic('us-east', topicsFor(namespace).events)
    const bus = testBus('eu-west')
    const admin = await bus.admin()
    await admin.createTopics([{ topic, partitions }])
    const producer = await bus.producer({ idempotent: true })
    const clock = new HybridClock('us-east')
    for (let p = 0; p < partitions; p++) {
      const messages = Array.from({ length: perPartition }, (_, i) => {
        const { message } = paymentCreated(clock, `mer_grouped_${p}`, p * perPartition + i)
        return { ...message, partition: p }
      })
      await producer.send(topic, messages)
    }
    await producer.close()
    await admin.close()

    const applier = await startReplication(
      {
        region: 'eu-west',
        databaseUrl: db.url,
        databaseSchema: db.schema,
        kafkaBrokers: [brokerFor('eu-west')],
        peers: { 'us-east': [brokerFor('us-east')] },
        topicNamespace: namespace,
        eventsPartitions: partitions,
        heartbeatIntervalMs: 1000,
        roles: { replicator: false, applier: true },
      },
      quietLogger,
    )
    try {
      const total = partitions * perPartition
      await eventually(async () => {
        const { rows } = await db.pool.query('select count(*)::int as n from payments')
        expect(rows[0].n).toBe(total)
      }, 30_000)
      const applied = await db.pool.query<{ n: number; transactions: number }>(
        // now() is the transaction's start: one value per transaction.
        'select count(*)::int as n, count(distinct applied_at)::int as transactions from replication_applied',
      )
      expect(applied.rows[0]?.n).toBe(total)
      const positions = await db.pool.query<{ partition: number; next_offset: string }>(
        'select partition, next_offset from replication_positions where topic = $1 order by partition',
        [topic],
      )
      expect(positions.rows).toEqual(
        Array.from({ length: partitions }, (_, p) => ({
          partition: p,
          next_offset: String(perPartition),
        })),
      )
      // The four partitions' batches were handed over together: fewer commits than partitions.
      expect(applied.rows[0]?.transactions).toBeLessThan(partitions)
    } finally {
      await applier.stop()
    }
  })

  it('forgets dedupe records older than the topics keep events, and only those', async () => {
    const insert = (id: string, ageMs: number) =>
      db.pool.query(
        `insert into replication_applied (origin_region, event_id, applied_at)
         values ('ap-south', $1, now() - ($2 || ' milliseconds')::interval)`,
        [id, String(ageMs)],
      )
    const day = 24 * 3600_000
    for (const id of ['evt_old_1', 'evt_old_2', 'evt_old_3'])
      await insert(id, dedupeRetentionMs + day)
    for (const id of ['evt_new_1', 'evt_new_2']) await insert(id, dedupeRetentionMs - day)
    // Two rows per statement: the pruner goes round until nothing old is left.
    expect(await pruneAppliedRecords(db.pool, dedupeRetentionMs, 2)).toBe(3)
    const { rows } = await db.pool.query<{ event_id: string }>(
      "select event_id from replication_applied where origin_region = 'ap-south' order by event_id",
    )
    expect(rows.map((r) => r.event_id)).toEqual(['evt_new_1', 'evt_new_2'])
  })
})
