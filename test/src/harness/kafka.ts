import {
  type BusAdmin,
  createKafkaBus,
  type InMessage,
  type KafkaBus,
  type KafkaClient,
  quietLogger,
} from '@meridian/platform'
import { inject } from 'vitest'
import { uniqueName } from './names.ts'

export type RegionName = 'us-east' | 'eu-west' | 'ap-south'

/** Bootstrap address of the real broker the global setup started for `region`. */
export function brokerFor(region: RegionName): string {
  const brokers = inject('kafkaBrokers')
  const address = brokers[region]
  if (!address)
    throw new Error(`no Kafka broker for ${region}; is the integration global setup running?`)
  return address
}

/** A bus on the suite's broker for `region`; the client is KAFKA_CLIENT's unless named. */
export function testBus(
  region: RegionName,
  clientId = uniqueName('client'),
  client?: KafkaClient,
): KafkaBus {
  return createKafkaBus({
    brokers: [brokerFor(region)],
    clientId,
    log: quietLogger,
    ...(client ? { client } : {}),
  })
}

/** Create a topic with a name no other test uses. */
export async function createTestTopic(
  admin: BusAdmin,
  label: string,
  partitions: number,
): Promise<string> {
  const topic = uniqueName(label).replaceAll('_', '-')
  await admin.createTopics([{ topic, partitions }])
  return topic
}

/**
 * Everything in a topic from the beginning, read by a fresh consumer group: waits until at least
 * `countMin` messages arrived and nothing new came for a moment.
 */
export async function readTopic(
  region: RegionName,
  topic: string,
  countMin: number,
  timeoutMs = 30_000,
): Promise<InMessage[]> {
  const bus = testBus(region)
  const consumer = bus.consumer({
    groupId: uniqueName('reader'),
    topics: [topic],
    fromBeginning: true,
  })
  const messages: InMessage[] = []
  let lastArrival = Date.now()
  await consumer.start(async (batch) => {
    messages.push(...batch.messages)
    lastArrival = Date.now()
  })
  const deadline = Date.now() + timeoutMs
  try {
    while (Date.now() < deadline) {
      if (messages.length >= countMin && Date.now() - lastArrival > 500) return messages
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(
      `read ${messages.length} of at least ${countMin} messages from ${topic} in ${timeoutMs} ms`,
    )
  } finally {
    await consumer.stop()
  }
}
