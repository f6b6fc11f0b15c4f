import {
  type Batch,
  type BusAdmin,
  type InMessage,
  type KafkaBus,
  type KafkaClient,
  kafkaClients,
} from '@meridian/platform'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './harness/eventually.ts'
import { createTestTopic, testBus } from './harness/kafka.ts'
import { uniqueName } from './harness/names.ts'

/**
 * One contract for the Kafka bus (platform/src/kafka/bus.ts), run against every client
 * behind it on the suite's real brokers. A client that fails here cannot be the default.
 */

/** Where Java's (and kafkajs's) murmur2 puts these keys among 4 partitions. */
const javaPartitionOf4: Record<string, number> = {
  mer_a: 0,
  mer_b: 0,
  mer_c: 1,
  mer_d: 2,
  mer_e: 1,
  mer_f: 3,
  mer_g: 3,
  mer_h: 1,
}

/** How long a stopped or idle consumer is watched for deliveries that must not come. */
const quietMs = 1500

const messages = (label: string, count: number, key = (i: number) => `${label}-${i}`) =>
  Array.from({ length: count }, (_, i) => ({ key: key(i), value: `${label}:${i}` }))

describe.each(kafkaClients)('the Kafka bus over %s', (client: KafkaClient) => {
  let bus: KafkaBus
  let admin: BusAdmin
  const topicOf = (label: string, partitions: number) => createTestTopic(admin, label, partitions)
  const group = (label: string) => uniqueName(`${client}_${label}`)

  beforeAll(async () => {
    bus = testBus('us-east', uniqueName(client), client)
    admin = await bus.admin()
  })
  afterAll(async () => {
    await admin?.close()
  })

  /** Start a consumer that records every message; stop() it when done. */
  async function record(
    topic: string,
    options: Partial<Parameters<KafkaBus['consumer']>[0]> = {},
    onBatch?: (batch: Batch) => Promise<void>,
  ) {
    const received: InMessage[] = []
    const consumer = bus.consumer({ groupId: group('reader'), topics: [topic], ...options })
    await consumer.start(async (batch) => {
      await onBatch?.(batch)
      received.push(...batch.messages)
    })
    return { received, stop: () => consumer.stop() }
  }

  it('creates, lists and describes topics; creating one again is no error', async () => {
    const topic = await topicOf('admin', 3)
    await admin.createTopics([{ topic, partitions: 3 }])
    expect(await admin.listTopics()).toContain(topic)
    expect(await admin.partitionCount(topic)).toBe(3)
    const producer = await bus.producer()
    await producer.send(topic, [
      { key: 'a', value: '1', partition: 0 },
      { key: 'b', value: '2', partition: 0 },
      { key: 'c', value: '3', partition: 2 },
    ])
    await producer.close()
    expect(Object.fromEntries(await admin.endOffsets(topic))).toEqual({ 0: '2', 1: '0', 2: '1' })
    const groupId = group('offsets')
    // On a fresh broker the group coordinator may still be loading (NOT_COORDINATOR, which the
    // kafkajs admin does not retry): ask until it answers.
    await eventually(async () => {
      const none = await admin.groupOffsets(groupId, topic)
      expect([...none.values()].every((o) => o === '-1')).toBe(true)
    })
    const consumer = bus.consumer({ groupId, topics: [topic] })
    await consumer.start(async () => {})
    try {
      await eventually(async () =>
        expect(Object.fromEntries(await admin.groupOffsets(groupId, topic))).toMatchObject({
          0: '2',
          2: '1',
        }),
      )
    } finally {
      await consumer.stop()
    }
  })

  it('keeps each key on one partition, where Java clients put it, in the order sent', async () => {
    const topic = await topicOf('order', 4)
    const producer = await bus.producer()
    const keys = Object.keys(javaPartitionOf4)
    // Concurrent sends, as the replicator's workers make them: order per key still holds.
    await Promise.all(
      Array.from({ length: 10 }, (_, round) =>
        producer.send(
          topic,
          keys.map((key) => ({ key, value: String(round) })),
        ),
      ),
    )
    await producer.close()
    const reader = await record(topic)
    try {
      await eventually(() => expect(reader.received).toHaveLength(keys.length * 10))
    } finally {
      await reader.stop()
    }
    for (const key of keys) {
      const mine = reader.received.filter((m) => m.key === key)
      expect(new Set(mine.map((m) => m.partition))).toEqual(new Set([javaPartitionOf4[key]]))
      const offsets = mine.map((m) => BigInt(m.offset))
      expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
    }
  })

  it('honours the partitioner and an explicit partition', async () => {
    const topic = await topicOf('partitioner', 4)
    const seen: number[] = []
    const producer = await bus.producer({
      partitioner: (key, count) => {
        seen.push(count)
        return key === 'hot' ? 3 : undefined
      },
    })
    await producer.send(topic, [
      { key: 'hot', value: 'h' },
      { key: 'mer_a', value: 'hashed' },
      { key: 'pinned', value: 'p', partition: 2 },
    ])
    await producer.close()
    expect(seen).toContain(4)
    const reader = await record(topic)
    try {
      await eventually(() => expect(reader.received).toHaveLength(3))
    } finally {
      await reader.stop()
    }
    const partitionOf = (key: string) => reader.received.find((m) => m.key === key)?.partition
    expect(partitionOf('hot')).toBe(3)
    expect(partitionOf('mer_a')).toBe(javaPartitionOf4.mer_a)
    expect(partitionOf('pinned')).toBe(2)
  })

  it('commits a batch only after its handler resolved, and redelivers after a crash', async () => {
    const topic = await topicOf('commit', 1)
    const producer = await bus.producer()
    await producer.send(topic, messages('m', 5))
    await producer.close()
    const groupId = group('commit')
    let failures = 0
    const committedDuringHandler: string[] = []
    const reader = await record(topic, { groupId }, async (batch) => {
      const committed = (await admin.groupOffsets(groupId, topic)).get(0) ?? '-1'
      committedDuringHandler.push(committed)
      const last = batch.messages.at(-1)
      if (last && BigInt(committed) > BigInt(last.offset))
        throw new Error('committed before the handler finished')
      if (failures === 0) {
        failures++
        // Not retriable: the client gives up, the bus must start the consumer again.
        throw Object.assign(new Error('handler crashed'), { retriable: false })
      }
    })
    try {
      await eventually(
        () => expect(reader.received.map((m) => m.key).sort()).toEqual(keysOf(messages('m', 5))),
        30_000,
      )
      await eventually(async () =>
        expect((await admin.groupOffsets(groupId, topic)).get(0)).toBe('5'),
      )
    } finally {
      await reader.stop()
    }
    expect(failures).toBe(1)
    // The crashed batch was not committed: it came again from offset 0.
    expect(committedDuringHandler.filter((c) => c === '-1').length).toBeGreaterThanOrEqual(2)
  })

  it('shares partitions in a group and hands them all to the survivor', async () => {
    const topic = await topicOf('group', 4)
    const groupId = group('rebalance')
    const assigned: Record<string, number[]> = {}
    const member = async (name: string, into: InMessage[]) => {
      const consumer = bus.consumer({
        groupId,
        topics: [topic],
        onAssign: async (assignment) => {
          assigned[name] = [...(assignment[topic] ?? [])].sort()
          return []
        },
      })
      await consumer.start(async (b) => {
        into.push(...b.messages)
      })
      return consumer
    }
    const first: InMessage[] = []
    const second: InMessage[] = []
    const a = await member('a', first)
    const b = await member('b', second)
    try {
      await eventually(() => {
        expect(assigned.a?.length).toBe(2)
        expect(assigned.b?.length).toBe(2)
        expect([...(assigned.a ?? []), ...(assigned.b ?? [])].sort()).toEqual([0, 1, 2, 3])
      }, 30_000)
      await b.stop()
      await eventually(() => expect(assigned.a).toEqual([0, 1, 2, 3]), 30_000)
      const producer = await bus.producer()
      await producer.send(
        topic,
        messages('after', 8, (i) => Object.keys(javaPartitionOf4)[i] ?? ''),
      )
      await producer.close()
      await eventually(() =>
        expect(new Set(first.map((m) => m.partition))).toEqual(new Set([0, 1, 2, 3])),
      )
    } finally {
      await a.stop()
    }
  })

  it('gives a member its claimed partitions only, alone or beside others', async () => {
    const topic = await topicOf('claims', 4)
    const groupId = group('claims')
    const seen: Record<string, number[]> = {}
    const consumer = (name: string, claims?: number[]) =>
      bus.consumer({
        groupId,
        topics: [topic],
        ...(claims ? { claims: { [topic]: claims } } : {}),
        onAssign: async (assignment) => {
          seen[name] = [...(assignment[topic] ?? [])].sort()
          return []
        },
      })
    const hot = consumer('hot', [2])
    await hot.start(async () => {})
    const cold = consumer('cold')
    try {
      await eventually(() => expect(seen.hot).toEqual([2]), 30_000)
      await cold.start(async () => {})
      await eventually(() => expect(seen).toEqual({ hot: [2], cold: [0, 1, 3] }), 30_000)
    } finally {
      await cold.stop()
      await hot.stop()
    }
  })

  it('reads from the beginning or only what comes after, as asked', async () => {
    const topic = await topicOf('from', 1)
    const producer = await bus.producer()
    await producer.send(topic, messages('old', 3))
    const early = await record(topic, { fromBeginning: true })
    const late = await record(topic, { fromBeginning: false })
    try {
      await eventually(() => expect(early.received).toHaveLength(3))
      // The late reader has joined and settled at the end of the log before more arrive.
      await new Promise((r) => setTimeout(r, quietMs))
      await producer.send(topic, messages('new', 2))
      await eventually(() => expect(early.received).toHaveLength(5))
      await eventually(() => expect(late.received.map((m) => m.key)).toEqual(['new-0', 'new-1']))
    } finally {
      await producer.close()
      await early.stop()
      await late.stop()
    }
  })

  it('starts a partition where onAssign says', async () => {
    const topic = await topicOf('seek', 1)
    const producer = await bus.producer()
    await producer.send(topic, messages('s', 6))
    await producer.close()
    const reader = await record(topic, {
      onAssign: async () => [{ topic, partition: 0, offset: '4' }],
    })
    try {
      await eventually(() => expect(reader.received.map((m) => m.key)).toEqual(['s-4', 's-5']))
      await new Promise((r) => setTimeout(r, quietMs))
      expect(reader.received.map((m) => m.key)).toEqual(['s-4', 's-5'])
    } finally {
      await reader.stop()
    }
  })

  it('writes each message of many concurrent idempotent sends exactly once', async () => {
    const topic = await topicOf('idempotent', 2)
    const producer = await bus.producer({ idempotent: true })
    await Promise.all(
      Array.from({ length: 50 }, (_, s) => producer.send(topic, messages(`s${s}`, 10))),
    )
    await producer.close()
    const ends = await admin.endOffsets(topic)
    expect([...ends.values()].reduce((sum, o) => sum + Number(o), 0)).toBe(500)
    const reader = await record(topic)
    try {
      await eventually(() => expect(reader.received).toHaveLength(500))
      await new Promise((r) => setTimeout(r, quietMs))
      expect(new Set(reader.received.map((m) => m.key)).size).toBe(500)
      expect(reader.received).toHaveLength(500)
    } finally {
      await reader.stop()
    }
  })

  it('stops: no delivery after stop(), and its connections are closed', async () => {
    const topic = await topicOf('stop', 1)
    const sockets = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
    const before = sockets()
    const own = testBus('us-east', uniqueName('stopper'), client)
    const producer = await bus.producer()
    let calls = 0
    const consumer = own.consumer({ groupId: group('stop'), topics: [topic] })
    await consumer.start(async () => {
      calls++
    })
    await producer.send(topic, messages('one', 1))
    await eventually(() => expect(calls).toBe(1))
    await consumer.stop()
    await producer.send(topic, messages('two', 3))
    await producer.close()
    await new Promise((r) => setTimeout(r, quietMs))
    expect(calls).toBe(1)
    await eventually(() => expect(sockets()).toBeLessThanOrEqual(before), 5000)
  })
})

function keysOf(list: readonly { key: string }[]): string[] {
  return list.map((m) => m.key).sort()
}
