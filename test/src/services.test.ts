import { readFileSync } from 'node:fs'
import type { BusConsumer, InMessage } from '@meridian/platform'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { eventually } from './harness/eventually.ts'
import { createTestTopic, testBus } from './harness/kafka.ts'
import { uniqueName } from './harness/names.ts'
import { createTestDb, type TestDb } from './harness/pg.ts'
import { createTestRedis, type TestRedis } from './harness/redis.ts'

describe('the suite talks to a real Kafka broker', () => {
  it('is a KRaft broker this suite started', () => {
    const log = readFileSync(inject('kafkaBrokerLogs')['us-east'] ?? '', 'utf8')
    expect(log).toContain('[KafkaRaftServer nodeId=1] Kafka Server started')
    expect(log).toContain('RaftManager')
  })

  it('produces idempotently to 8 partitions, consumes as a group, commits and resumes', async () => {
    const bus = testBus('us-east')
    const admin = await bus.admin()
    const topic = await createTestTopic(admin, 'roundtrip', 8)
    expect(await admin.partitionCount(topic)).toBe(8)
    const producer = await bus.producer({ idempotent: true })
    const keys = Array.from({ length: 40 }, (_, i) => `mer_${i}`)
    const send = async (round: number) => {
      for (let i = 0; i < 5; i++) {
        await producer.send(
          topic,
          keys.map((key) => ({
            key,
            value: JSON.stringify({ round, i }),
            headers: { origin: 'us-east' },
          })),
        )
      }
    }
    await send(1)

    const groupId = uniqueName('group')
    const received: InMessage[] = []
    const consume = async (): Promise<BusConsumer> => {
      const consumer = bus.consumer({ groupId, topics: [topic], fromBeginning: true })
      await consumer.start(async (batch) => {
        received.push(...batch.messages)
      })
      return consumer
    }
    let consumer = await consume()
    await eventually(() => expect(received).toHaveLength(200))
    // Keys spread over every partition, and each key's messages stay in order.
    expect(new Set(received.map((m) => m.partition)).size).toBe(8)
    for (const key of keys) {
      const order = received.filter((m) => m.key === key).map((m) => JSON.parse(String(m.value)).i)
      expect(order).toEqual([0, 1, 2, 3, 4])
    }
    expect(received[0]?.headers).toEqual({ origin: 'us-east' })
    // Offsets are committed only after the handler returned.
    const ends = await admin.endOffsets(topic)
    await eventually(async () => expect(await admin.groupOffsets(groupId, topic)).toEqual(ends))
    await consumer.stop()

    // While the group is down, more arrives; a restarted consumer resumes after its commits.
    await send(2)
    received.length = 0
    consumer = await consume()
    await eventually(() => expect(received).toHaveLength(200))
    expect(received.every((m) => JSON.parse(String(m.value)).round === 2)).toBe(true)
    await consumer.stop()
    await producer.close()
    await admin.close()
  })
})

describe('one producer and one consumer shared by concurrent callers', () => {
  it('keeps each partition in call order when sends go out together, and commits every partition', async () => {
    const bus = testBus('us-east')
    const admin = await bus.admin()
    const topic = await createTestTopic(admin, 'grouped', 4)
    const producer = await bus.producer({ idempotent: true })
    // 200 sends at once: named partitions and hashed keys, mixed. While one request is on the
    // wire the rest wait and go out together; order per partition must still be call order.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        producer.send(topic, [
          i % 2 === 0
            ? { key: `named_${(i / 2) % 4}`, value: String(i), partition: (i / 2) % 4 }
            : { key: `hashed_${i % 6}`, value: String(i) },
        ]),
      ),
    )
    const groupId = uniqueName('group')
    const received: InMessage[] = []
    const consumer = bus.consumer({
      groupId,
      topics: [topic],
      fromBeginning: true,
      partitionsConcurrently: 4,
    })
    await consumer.start(async (batch) => {
      received.push(...batch.messages)
    })
    await eventually(() => expect(received).toHaveLength(200))
    for (let p = 0; p < 4; p++) {
      const order = received
        .filter((m) => m.partition === p)
        .sort((a, b) => Number(a.offset) - Number(b.offset))
        .map((m) => Number(String(m.value)))
      expect(order).toEqual([...order].sort((a, b) => a - b))
    }
    expect(
      received
        .filter((m) => m.key?.startsWith('named_'))
        .every((m) => m.partition === Number(m.key?.slice(6))),
    ).toBe(true)
    // Commits from partitions handled at once went out together, and none was lost.
    const ends = await admin.endOffsets(topic)
    await eventually(async () => expect(await admin.groupOffsets(groupId, topic)).toEqual(ends))
    await consumer.stop()
    await producer.close()
    await admin.close()
  })
})

describe('the suite talks to real Postgres and Redis', () => {
  let db: TestDb
  let redis: TestRedis
  beforeAll(async () => {
    db = await createTestDb('services')
    redis = await createTestRedis('services')
  })
  afterAll(async () => {
    await db.close()
    await redis.close()
  })

  it('commits and rolls back a transaction in this file’s own schema', async () => {
    const insert = `insert into outbox (event_id, merchant_id, type, envelope) values ($1, 'mer_acme', 'payment.created', '{}')`
    const client = await db.pool.connect()
    try {
      await client.query('begin')
      await client.query(insert, ['evt_rolled_back'])
      await client.query('rollback')
      await client.query('begin')
      await client.query(insert, ['evt_committed'])
      await client.query('commit')
    } finally {
      client.release()
    }
    const { rows } = await db.pool.query('select event_id from outbox')
    expect(rows).toEqual([{ event_id: 'evt_committed' }])
    const { rows: where } = await db.pool.query<{ schema: string }>(
      'select current_schema() as schema',
    )
    expect(where[0]?.schema).toBe(db.schema)
  })

  it('runs a Lua script atomically under this file’s key prefix', async () => {
    const script = `
      local n = redis.call('INCRBY', KEYS[1], ARGV[1])
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return {n, redis.call('PTTL', KEYS[1])}`
    const key = redis.keys.key('counter')
    const first = (await redis.redis.eval(script, 1, key, 5, 60_000)) as [number, number]
    const second = (await redis.redis.eval(script, 1, key, 7, 60_000)) as [number, number]
    expect(first[0]).toBe(5)
    expect(second[0]).toBe(12)
    expect(second[1]).toBeGreaterThan(0)
    expect(key.startsWith(redis.keys.prefix)).toBe(true)
  })
})
