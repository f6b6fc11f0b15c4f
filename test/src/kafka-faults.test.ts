import { KafkaBroker } from '@meridian/local'
import {
  createKafkaBus,
  type InMessage,
  type KafkaBus,
  type KafkaClient,
  kafkaClients,
  quietLogger,
} from '@meridian/platform'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './harness/eventually.ts'
import { createTestTopic, testBus } from './harness/kafka.ts'
import { uniqueName } from './harness/names.ts'

const keysOf = (messages: readonly { key: string | null }[]) => messages.map((m) => m.key).sort()
const batch = (label: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: `${label}-${i}`, value: label }))

/**
 * The bus adapter, over every client, when its broker misbehaves. These tests stall and kill a
 * broker, so they run their own instead of the suite's shared ones.
 */
describe.each(kafkaClients)(
  'the Kafka bus over %s on a broker that stalls or dies',
  (client: KafkaClient) => {
    let broker: KafkaBroker
    let topic: string
    // Short timeouts, one retry (idempotence needs one; platformatic takes at least two): a send
    // into a stalled broker fails in seconds.
    const impatientBus = (): KafkaBus =>
      createKafkaBus({
        brokers: [broker.bootstrap],
        clientId: uniqueName('impatient'),
        client,
        log: quietLogger,
        requestTimeoutMs: 1000,
        requestRetriesMax: 1,
      })

    beforeAll(async () => {
      broker = await KafkaBroker.start({ name: `faults-${client}` })
      const admin = await impatientBus().admin()
      topic = await createTestTopic(admin, 'faults', 1)
      await admin.close()
    })
    afterAll(async () => {
      await broker?.destroy()
    })

    it('sends again after a send that timed out was written anyway', async () => {
      const bus = impatientBus()
      const producer = await bus.producer({ idempotent: true })
      await producer.send(topic, batch('before', 3))
      broker.pause()
      // The request waits in the stalled broker's socket: the client gives up, the broker will not.
      await expect(producer.send(topic, batch('stalled', 2))).rejects.toThrow()
      broker.resume()
      // kafkajs would reuse the stalled batch's sequence numbers for this different batch, and the
      // broker, which wrote the stalled one, would refuse it as out of order on every try.
      await eventually(() => producer.send(topic, batch('after', 4)), 30_000)
      await producer.close()

      const received: InMessage[] = []
      const consumer = bus.consumer({ groupId: uniqueName('reader'), topics: [topic] })
      await consumer.start(async (b) => {
        received.push(...b.messages)
      })
      try {
        await eventually(() =>
          expect(keysOf(received)).toEqual(
            keysOf([...batch('before', 3), ...batch('stalled', 2), ...batch('after', 4)]),
          ),
        )
      } finally {
        await consumer.stop()
      }
    })

    it('producer and consumer carry on after the broker is killed and started again', async () => {
      const bus = createKafkaBus({
        brokers: [broker.bootstrap],
        clientId: uniqueName('survivor'),
        client,
        log: quietLogger,
      })
      const producer = await bus.producer({ idempotent: true })
      const received: InMessage[] = []
      const consumer = bus.consumer({ groupId: uniqueName('survivor'), topics: [topic] })
      await consumer.start(async (b) => {
        received.push(...b.messages.filter((m) => String(m.value) === 'survivor'))
      })
      try {
        await producer.send(topic, batch('survivor', 2))
        await eventually(() => expect(received).toHaveLength(2))
        await broker.kill()
        await broker.launch()
        // The first sends may still meet the old connections; the producer must not stay broken.
        await eventually(
          () => producer.send(topic, [{ key: 'survivor-2', value: 'survivor' }]),
          30_000,
        )
        await eventually(
          () => expect(new Set(keysOf(received))).toEqual(new Set(keysOf(batch('survivor', 3)))),
          30_000,
        )
      } finally {
        await consumer.stop()
        await producer.close()
      }
    })
  },
)

describe.each(kafkaClients)(
  'a %s consumer whose handler fails with an error the client will not retry',
  (client: KafkaClient) => {
    it('is started again and consumes everything', async () => {
      const bus = testBus('us-east', uniqueName('refused'), client)
      const admin = await bus.admin()
      const topic = await createTestTopic(admin, 'refused', 1)
      await admin.close()
      const producer = await bus.producer()
      await producer.send(topic, batch('m', 5))
      await producer.close()

      let refusals = 0
      const received: InMessage[] = []
      const consumer = bus.consumer({ groupId: uniqueName('refused'), topics: [topic] })
      await consumer.start(async (b) => {
        if (refusals === 0) {
          refusals++
          // What a poisoned producer throws inside a replicator: kafkajs crashes without restarting.
          throw Object.assign(new Error('refused by the destination'), { retriable: false })
        }
        received.push(...b.messages)
      })
      try {
        await eventually(() => expect(keysOf(received)).toEqual(keysOf(batch('m', 5))))
        expect(refusals).toBe(1)
      } finally {
        await consumer.stop()
      }
    })
  },
)
