import { describe, expect, it } from 'vitest'
import { kafkaSecurity } from './kafkajs.ts'
import { kafkaAuthFromEnv, mskRegion } from './msk-auth.ts'

const euBrokers = [
  'b-1.meridian-eu-west-kafka.abc123.c2.kafka.eu-west-1.amazonaws.com:9098',
  'b-2.meridian-eu-west-kafka.abc123.c2.kafka.eu-west-1.amazonaws.com:9098',
]

describe('Kafka authentication', () => {
  it('is plaintext unless KAFKA_AUTH asks for IAM, and refuses anything else', () => {
    expect(kafkaAuthFromEnv({})).toBe('none')
    expect(kafkaAuthFromEnv({ KAFKA_AUTH: 'aws-msk-iam' })).toBe('aws-msk-iam')
    expect(() => kafkaAuthFromEnv({ KAFKA_AUTH: 'scram' })).toThrow(
      /KAFKA_AUTH must be none or aws-msk-iam/,
    )
    expect(kafkaSecurity('none', ['127.0.0.1:9092'])).toEqual({})
  })

  it('reads the cluster region from MSK broker names and refuses mixed or foreign ones', () => {
    expect(mskRegion(euBrokers)).toBe('eu-west-1')
    expect(() =>
      mskRegion([...euBrokers, 'b-1.x.y.c1.kafka.us-east-1.amazonaws.com:9098']),
    ).toThrow(/cannot tell/)
    expect(() => mskRegion(['127.0.0.1:9092'])).toThrow(/cannot tell/)
  })

  it('signs OAUTHBEARER tokens for the cluster region with the task credentials, offline', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY000001',
      AWS_SECRET_ACCESS_KEY: 'example-secret-key',
    })
    try {
      const security = kafkaSecurity('aws-msk-iam', euBrokers)
      expect(security.ssl).toBe(true)
      const sasl = security.sasl as {
        mechanism: string
        oauthBearerProvider: () => Promise<{ value: string }>
      }
      expect(sasl.mechanism).toBe('oauthbearer')
      const { value } = await sasl.oauthBearerProvider()
      const url = new URL(Buffer.from(value, 'base64url').toString('utf8'))
      expect(url.hostname).toBe('kafka.eu-west-1.amazonaws.com')
      expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect')
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(
        /^AKIAEXAMPLEKEY000001\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
      )
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      process.env = saved
    }
  })
})
