import { describe, expect, it } from 'vitest'
import { kafkaClientFromEnv } from './bus.ts'

describe('the Kafka client setting', () => {
  it('is kafkajs unless KAFKA_CLIENT names platformatic, and refuses anything else', () => {
    expect(kafkaClientFromEnv({})).toBe('kafkajs')
    expect(kafkaClientFromEnv({ KAFKA_CLIENT: 'platformatic' })).toBe('platformatic')
    expect(() => kafkaClientFromEnv({ KAFKA_CLIENT: 'confluent' })).toThrow(
      /KAFKA_CLIENT must be kafkajs or platformatic, not "confluent"/,
    )
  })
})
