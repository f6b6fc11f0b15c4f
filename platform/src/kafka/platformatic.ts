/**
 * The bus (bus.ts) over @platformatic/kafka, selected with KAFKA_CLIENT=platformatic: the
 * producer and admin here, the consumer in platformatic-consumer.ts. Same semantics as the
 * kafkajs bus; where the client differs, the comments say how it is made to match.
 */
import {
  Admin,
  type BaseOptions,
  compatibilityPartitioner,
  findErrorBy,
  type MessageToProduce,
  ProduceAcks,
  Producer,
  SASLMechanisms,
} from '@platformatic/kafka'
import { GroupCommitter } from '../group-commit.ts'
import {
  type BusAdmin,
  type BusProducer,
  type KafkaBus,
  type KafkaConfig,
  type OutMessage,
  type Partitioner,
  requestRetriesDefault,
  sendsPerRequestMax,
} from './bus.ts'
import { kafkaAuthFromEnv, mskIamToken, mskRegion } from './msk-auth.ts'
import { platformaticConsumer } from './platformatic-consumer.ts'

/**
 * Fewest retries asked of the client. An idempotent producer given 0 or 1 retries silently gets
 * Number.MAX_SAFE_INTEGER instead (platformatic's Producer constructor), which turns a stalled
 * broker into a send that never fails; 2 keeps sends bounded.
 */
export const platformaticRetriesMin = 2

/** Pause between retries of a failed request (kafkajs starts at 100 ms and backs off to 2 s). */
export const retryDelayMs = 250

/** How long createTopics waits for every new partition to have a leader, as kafkajs's waitForLeaders. */
export const topicLeadersWaitMsMax = 10_000

export function createPlatformaticBus(config: KafkaConfig): KafkaBus {
  const base = baseOptions(config)
  return {
    producer: (options) => connectProducer(base, options?.idempotent ?? true, options?.partitioner),
    consumer: (options) => platformaticConsumer(base, options, config.log),
    admin: async () => wrapAdmin(new Admin(base)),
  }
}

function baseOptions(config: KafkaConfig): BaseOptions {
  const auth = config.auth ?? kafkaAuthFromEnv()
  const region = auth === 'aws-msk-iam' ? mskRegion(config.brokers) : undefined
  return {
    clientId: config.clientId,
    bootstrapBrokers: [...config.brokers],
    connectTimeout: config.connectionTimeoutMs ?? 3000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    timeout: config.requestTimeoutMs ?? 30_000,
    retries: Math.max(platformaticRetriesMin, config.requestRetriesMax ?? requestRetriesDefault),
    retryDelay: retryDelayMs,
    autocreateTopics: false,
    // MSK IAM: TLS, then SASL/OAUTHBEARER with a token provider called for each new connection.
    ...(region
      ? {
          tls: {},
          sasl: { mechanism: SASLMechanisms.OAUTHBEARER, token: () => mskIamToken(region) },
        }
      : {}),
  }
}

interface Send {
  readonly topic: string
  readonly messages: readonly OutMessage[]
}

function toPlatformatic(
  topic: string,
  m: OutMessage,
  partition: number | undefined,
): MessageToProduce<Buffer, Buffer, string, Buffer> {
  const headers: Record<string, Buffer> = {}
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Buffer.from(v)
  return {
    topic,
    key: Buffer.from(m.key),
    value: Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value),
    headers,
    ...(partition === undefined ? {} : { partition }),
  }
}

async function connectProducer(
  base: BaseOptions,
  idempotent: boolean,
  partitioner?: Partitioner,
): Promise<BusProducer> {
  const producer = new Producer<Buffer, Buffer, string, Buffer>({
    ...base,
    idempotent,
    acks: ProduceAcks.ALL,
    // kafkajs's default partitioner (Java's murmur2 & 0x7fffffff): a key lands on the same
    // partition whichever client wrote it. platformatic's own default (murmur2 >>> 0) does not.
    partitioner: compatibilityPartitioner,
    serializers: { headerKey: (k?: string) => (k === undefined ? undefined : Buffer.from(k)) },
  })
  // Connect now, as the kafkajs producer does: a bad broker list fails here, not at the first send.
  await producer.metadata({ topics: [] })
  const placed = async (sends: readonly Send[]) => {
    const out: MessageToProduce<Buffer, Buffer, string, Buffer>[] = []
    for (const s of sends) {
      const count = partitioner
        ? (await producer.metadata({ topics: [s.topic] })).topics.get(s.topic)?.partitionsCount
        : undefined
      for (const m of s.messages) {
        const chosen = m.partition ?? (count ? partitioner?.(m.key, count) : undefined)
        out.push(toPlatformatic(s.topic, m, chosen))
      }
    }
    return out
  }
  // Concurrent sends wait while a request is on the wire, then go out together in call order, as
  // in the kafkajs bus. A failed idempotent send needs no fresh producer here: platformatic drops
  // its producer id and sequence numbers on any error, so the next send starts a new one.
  const sends = new GroupCommitter<Send, undefined>(
    async (batch) => {
      await producer.send({ messages: await placed(batch) })
      return batch.map(() => undefined)
    },
    {
      batchSizeMax: sendsPerRequestMax,
      flushesInFlightMax: 1,
      queueDepthMax: Number.MAX_SAFE_INTEGER,
    },
  )
  return {
    async send(topic, messages) {
      if (messages.length > 0) await sends.submit({ topic, messages })
    },
    close: () => producer.close(),
  }
}

function wrapAdmin(admin: Admin): BusAdmin {
  const partitionsOf = async (topic: string) => {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true })
    return meta.topics.get(topic)?.partitionsCount ?? 0
  }
  return {
    async createTopics(topics) {
      // One request per topic: platformatic takes one partition count and config for a request.
      for (const t of topics) {
        await admin
          .createTopics({
            topics: [t.topic],
            partitions: t.partitions,
            replicas: 1,
            configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          })
          .catch((error: unknown) => {
            // An existing topic is not an error, as with kafkajs (which answers false).
            if (!alreadyExists(error)) throw error
          })
      }
      await waitForLeaders(
        admin,
        topics.map((t) => t.topic),
      )
    },
    async listTopics() {
      return admin.listTopics()
    },
    partitionCount: partitionsOf,
    async endOffsets(topic) {
      const count = await partitionsOf(topic)
      const [listed] = await admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: count }, (_, p) => ({
              partitionIndex: p,
              // ListOffsets' LATEST: the high watermark.
              timestamp: -1n,
            })),
          },
        ],
      })
      return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, String(p.offset)]))
    },
    async groupOffsets(groupId, topic) {
      const count = await partitionsOf(topic)
      const [group] = await admin.listConsumerGroupOffsets({
        groups: [
          {
            groupId,
            topics: [{ name: topic, partitionIndexes: Array.from({ length: count }, (_, p) => p) }],
          },
        ],
      })
      const partitions = group?.topics.find((t) => t.name === topic)?.partitions ?? []
      return new Map(partitions.map((p) => [p.partitionIndex, String(p.committedOffset)]))
    },
    close: () => admin.close(),
  }
}

function alreadyExists(error: unknown): boolean {
  return error instanceof Error && findErrorBy(error, 'apiId', 'TOPIC_ALREADY_EXISTS') !== null
}

/** Until every partition of `topics` has a leader: producing before that fails. */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + topicLeadersWaitMsMax
  for (;;) {
    const meta = await admin.metadata({ topics: [...topics], forceUpdate: true })
    const ready = topics.every((t) => {
      const partitions = meta.topics.get(t)?.partitions ?? []
      return partitions.length > 0 && partitions.every((p) => p.leader >= 0)
    })
    if (ready) return
    if (Date.now() > deadline)
      throw new Error(
        `topics ${topics.join(', ')} have no leaders after ${topicLeadersWaitMsMax} ms`,
      )
    await new Promise((r) => setTimeout(r, 100))
  }
}
