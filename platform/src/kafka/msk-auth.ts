/** How the bus authenticates: plaintext to local brokers, or IAM tokens to Amazon MSK. */

/** `none`: the local KRaft brokers. `aws-msk-iam`: TLS plus SASL/OAUTHBEARER tokens signed with the task's IAM role. */
export type KafkaAuth = 'none' | 'aws-msk-iam'

export function kafkaAuthFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaAuth {
  const value = env.KAFKA_AUTH ?? 'none'
  if (value !== 'none' && value !== 'aws-msk-iam')
    throw new Error(`KAFKA_AUTH must be none or aws-msk-iam, not "${value}"`)
  return value
}

/**
 * The AWS region an MSK cluster lives in, from its broker names
 * (`b-1.meridian-us-east-kafka.abc123.c2.kafka.us-east-1.amazonaws.com:9098`). Replicators talk
 * to clusters in other regions, and each token must be signed for the cluster's own region.
 */
export function mskRegion(brokers: readonly string[]): string {
  const regions = new Set(
    brokers.map((b) => /\.kafka\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?::\d+)?$/.exec(b)?.[1]),
  )
  const [region] = regions
  if (regions.size !== 1 || !region)
    throw new Error(`cannot tell the AWS region of MSK brokers ${brokers.join(',')}`)
  return region
}

/** An MSK IAM token (SASL/OAUTHBEARER) for the cluster's own AWS region, signed with the task role. */
export async function mskIamToken(region: string): Promise<string> {
  // Loaded only on MSK: the signer pulls in the AWS SDK's credential chain.
  const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js')
  const { token } = await generateAuthToken({ region })
  return token
}
