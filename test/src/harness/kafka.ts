import { type BusAdmin, createKafkaBus, type KafkaBus, quietLogger } from '@meridian/regions'
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

export function testBus(region: RegionName, clientId = uniqueName('client')): KafkaBus {
  return createKafkaBus({ brokers: [brokerFor(region)], clientId, log: quietLogger })
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
