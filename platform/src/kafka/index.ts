/**
 * The bus services use, and the one switch between its implementations. Everything outside this
 * folder imports from here; only the kafkajs*.ts and platformatic*.ts files know their client.
 */
import { type KafkaBus, type KafkaConfig, kafkaClientFromEnv } from './bus.ts'
import { createKafkaJsBus } from './kafkajs.ts'
import { createPlatformaticBus } from './platformatic.ts'

export * from './bus.ts'
export { type KafkaAuth, kafkaAuthFromEnv, mskRegion } from './msk-auth.ts'
export { ensureTopics } from './topics.ts'

export function createKafkaBus(config: KafkaConfig): KafkaBus {
  const client = config.client ?? kafkaClientFromEnv()
  switch (client) {
    case 'kafkajs':
      return createKafkaJsBus(config)
    case 'platformatic':
      return createPlatformaticBus(config)
  }
}
