/**
 * The bus (bus.ts) over kafkajs, the default client: the client, its producer, and the wiring of
 * kafkajs-consumer.ts and kafkajs-admin.ts. kafkajs is in maintenance mode, so everything else
 * talks to the bus interfaces and only the kafkajs*.ts files (and assigner.ts) know kafkajs.
 */
import {
  type ICustomPartitioner,
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  type LogEntry,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs'
import { GroupCommitter } from '../group-commit.ts'
import type { Logger } from '../log.ts'
import {
  type BusProducer,
  type KafkaBus,
  type KafkaConfig,
  type OutMessage,
  type Partitioner,
  requestRetriesDefault,
  sendsPerRequestMax,
} from './bus.ts'
import { connectAdmin } from './kafkajs-admin.ts'
import { wrapConsumer } from './kafkajs-consumer.ts'
import { type KafkaAuth, kafkaAuthFromEnv, mskIamToken, mskRegion } from './msk-auth.ts'

export function kafkaSecurity(
  auth: KafkaAuth,
  brokers: readonly string[],
): Pick<KafkaJsConfig, 'ssl' | 'sasl'> {
  if (auth === 'none') return {}
  const region = mskRegion(brokers)
  return {
    ssl: true,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: await mskIamToken(region) }),
    },
  }
}

function kafkaLogger(log: Logger) {
  return () =>
    ({ level, log: entry }: LogEntry) => {
      const { message, ...rest } = entry
      // kafkajs logs at ERROR for conditions it then retries (a coordinator still loading);
      // failures that matter reach us as thrown errors, so its own lines are warnings at most.
      // Its warning about bounded retries on idempotent producers is by design here (a send that
      // fails is retried on a fresh producer id), and it comes with every producer: debug.
      const expected = message.startsWith('Limiting retries for the idempotent producer')
      if (!expected && (level === logLevel.ERROR || level === logLevel.WARN))
        log.warn(`kafka: ${message}`, rest)
      else log.debug(`kafka: ${message}`, rest)
    }
}

export function createKafkaJsBus(config: KafkaConfig): KafkaBus {
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: config.connectionTimeoutMs ?? 3000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogger(config.log),
    retry: {
      initialRetryTime: 100,
      maxRetryTime: 2000,
      retries: config.requestRetriesMax ?? requestRetriesDefault,
    },
    ...kafkaSecurity(config.auth ?? kafkaAuthFromEnv(), config.brokers),
  })
  return {
    producer: (options) =>
      connectProducer(kafka, options?.idempotent ?? true, options?.partitioner),
    consumer: (options) => wrapConsumer(kafka, options, config.log),
    admin: () => connectAdmin(kafka),
  }
}

/** Our partitioner first (the hot-merchant map), then kafkajs's Java-compatible key hash. */
function partitionerFactory(choose: Partitioner | undefined): ICustomPartitioner {
  return () => {
    const fallback = Partitioners.DefaultPartitioner()
    return (args) => {
      const key = args.message.key
      const chosen =
        choose && key !== null && key !== undefined
          ? choose(key.toString(), args.partitionMetadata.length)
          : undefined
      return chosen ?? fallback(args)
    }
  }
}

interface Send {
  readonly topic: string
  readonly messages: readonly OutMessage[]
}

/** One entry per topic, its messages in the order they were sent. */
function byTopic(sends: readonly Send[]): { topic: string; messages: Message[] }[] {
  const topics = new Map<string, Message[]>()
  for (const s of sends) {
    const list = topics.get(s.topic) ?? []
    for (const m of s.messages) list.push(toKafkaJs(m))
    topics.set(s.topic, list)
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }))
}

function toKafkaJs(m: OutMessage): Message {
  return {
    key: m.key,
    value: m.value,
    ...(m.headers ? { headers: { ...m.headers } } : {}),
    ...(m.partition === undefined ? {} : { partition: m.partition }),
  }
}

async function connectProducer(
  kafka: Kafka,
  idempotent: boolean,
  partitioner?: Partitioner,
): Promise<BusProducer> {
  const connectFresh = async (): Promise<Producer> => {
    const producer = kafka.producer({
      idempotent,
      // KIP-98: idempotence needs acks=all and one request in flight per connection for order.
      maxInFlightRequests: idempotent ? 1 : 5,
      createPartitioner: partitionerFactory(partitioner),
      allowAutoTopicCreation: false,
    })
    await producer.connect()
    return producer
  }
  let current: Promise<Producer> | undefined = connectFresh()
  await current
  const retire = (failed: Promise<Producer>) => {
    if (current !== failed) return
    current = undefined
    void failed.then((p) => p.disconnect()).catch(() => {})
  }
  const sendMany = async (sends: readonly Send[]) => {
    current ??= connectFresh()
    const pending = current
    try {
      const producer = await pending
      await producer.sendBatch({
        acks: -1,
        topicMessages: byTopic(sends),
      })
      return sends.map(() => undefined)
    } catch (error) {
      // A failed send's outcome is unknown: the broker may have written the batch. kafkajs then
      // keeps the old sequence numbers, so the next, different batch is refused as out of order
      // forever (tulios/kafkajs#598). The next send starts a fresh producer id instead; a batch
      // written twice is a duplicate, which consumers drop by event id.
      retire(pending)
      throw error
    }
  }
  // Concurrent sends (the replicator's workers share one producer) wait while a request is on
  // the wire, then go out together as one: one request in flight per connection otherwise means
  // one round trip per send, in line. Taken strictly in call order (no key holds a send back),
  // so every partition receives its messages in the order send() was called.
  const sends = new GroupCommitter<Send, undefined>(sendMany, {
    batchSizeMax: sendsPerRequestMax,
    flushesInFlightMax: 1,
    queueDepthMax: Number.MAX_SAFE_INTEGER,
  })
  return {
    async send(topic, messages) {
      if (messages.length > 0) await sends.submit({ topic, messages })
    },
    async close() {
      const last = current
      current = undefined
      // A producer that never connected has nothing to disconnect.
      if (last)
        await last.then(
          (p) => p.disconnect(),
          () => {},
        )
    },
  }
}
