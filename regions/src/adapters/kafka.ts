/**
 * The bus services use, and the one switch between its implementations. Everything outside the
 * adapters imports from here; only kafka-kafkajs.ts and kafka-platformatic.ts know their client.
 */
import { type KafkaBus, type KafkaConfig, kafkaClientFromEnv } from './kafka-bus.ts'
import { createKafkaJsBus } from './kafka-kafkajs.ts'
import { createPlatformaticBus } from './kafka-platformatic.ts'

export * from './kafka-bus.ts'

export function createKafkaBus(config: KafkaConfig): KafkaBus {
  const client = config.client ?? kafkaClientFromEnv()
  switch (client) {
    case 'kafkajs':
      return createKafkaJsBus(config)
    case 'platformatic':
      return createPlatformaticBus(config)
  }
}
