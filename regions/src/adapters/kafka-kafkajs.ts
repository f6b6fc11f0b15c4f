/**
 * The bus (kafka-bus.ts) over kafkajs, the default client. kafkajs is in maintenance mode, so
 * everything else talks to the bus interfaces and only this file (and assigner.ts) knows kafkajs.
 */
import {
  type Admin,
  type Consumer,
  type EachBatchHandler,
  type ICustomPartitioner,
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  type LogEntry,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
  type TopicPartitionOffset,
} from 'kafkajs'
import { GroupCommitter } from '../group-commit.ts'
import type { Logger } from '../log.ts'
import { dedicatedAssigner } from './assigner.ts'
import {
  type BusAdmin,
  type BusConsumer,
  type BusProducer,
  type ConsumerOptions,
  consumerRestartDelayMs,
  fetchWaitMsMax,
  type InMessage,
  type KafkaAuth,
  type KafkaBus,
  type KafkaConfig,
  kafkaAuthFromEnv,
  mskIamToken,
  mskRegion,
  type OutMessage,
  type Partitioner,
  requestRetriesDefault,
  sendsPerRequestMax,
} from './kafka-bus.ts'

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

function headersOf(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (Buffer.isBuffer(v)) out[k] = v.toString('utf8')
    else if (typeof v === 'string') out[k] = v
  }
  return out
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

function wrapConsumer(kafka: Kafka, options: ConsumerOptions, log: Logger): BusConsumer {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    partitionAssigners: [dedicatedAssigner(options.claims ?? {})],
    sessionTimeout: options.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: fetchWaitMsMax,
    allowAutoTopicCreation: false,
  })
  const topics = options.topics instanceof RegExp ? [options.topics] : [...options.topics]
  if (options.onAssign) seekOnAssign(consumer, options.groupId, options.onAssign, log)
  let running = false
  let restartTimer: NodeJS.Timeout | undefined
  let handler: BatchHandler | undefined
  const runOnce = async () => {
    if (!handler) throw new Error('consumer restarted before it was started')
    await consumer.connect()
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning ?? true })
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently ?? 1,
      eachBatchAutoResolve: false,
      eachBatch: eachBatchOf(consumer, handler, () => running),
    })
  }
  const restartLater = () => {
    restartTimer = setTimeout(() => {
      if (!running) return
      runOnce().catch((error: unknown) => {
        log.error('consumer restart failed; trying again', {
          groupId: options.groupId,
          error: error instanceof Error ? error.message : String(error),
        })
        restartLater()
      })
    }, consumerRestartDelayMs)
  }
  // kafkajs restarts a crashed consumer only when the cause is retriable. Anything else (a
  // handler's non-retriable error, such as a producer refusing a batch) would leave this process
  // up but consuming nothing, forever: start it again ourselves, after a pause, until stop().
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || !running) return
    log.error('consumer stopped on an error kafkajs will not retry; starting it again', {
      groupId: options.groupId,
      error: payload.error.message,
      restartInMs: consumerRestartDelayMs,
    })
    restartLater()
  })
  return {
    async start(handle) {
      handler = handle
      running = true
      await runOnce()
    },
    async stop() {
      running = false
      clearTimeout(restartTimer)
      await consumer.disconnect()
    },
  }
}

type BatchHandler = Parameters<BusConsumer['start']>[0]

function seekOnAssign(
  consumer: Consumer,
  groupId: string,
  onAssign: NonNullable<ConsumerOptions['onAssign']>,
  log: Logger,
): void {
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    onAssign(payload.memberAssignment).then(
      (positions) => {
        for (const p of positions) consumer.seek(p)
      },
      // The positions' store is unreachable (its database is down): consume from the
      // group's committed offsets, which never run ahead of the stored positions, so
      // at worst events are redelivered, and consumers dedupe. The handler will fail
      // too while the store is down; the consumer restarts, rejoins, and asks again.
      (error: unknown) =>
        log.warn('consumer positions unavailable; starting from committed offsets', {
          groupId,
          error: error instanceof Error ? error.message : String(error),
        }),
    )
  })
}

/** Hand each batch to `handle`, then commit its offsets: nothing is committed before it is handled. */
function eachBatchOf(
  consumer: Consumer,
  handle: BatchHandler,
  running: () => boolean,
): EachBatchHandler {
  // Partitions handled at once commit together: one OffsetCommit request for all of them.
  const commits = new GroupCommitter<TopicPartitionOffset, undefined>(
    async (offsets) => {
      await consumer.commitOffsets([...offsets])
      return offsets.map(() => undefined)
    },
    {
      batchSizeMax: Number.MAX_SAFE_INTEGER,
      flushesInFlightMax: 1,
      keyOf: (o) => `${o.topic}|${o.partition}`,
      queueDepthMax: Number.MAX_SAFE_INTEGER,
    },
  )
  return async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
    if (batch.messages.length === 0) return
    const messages: InMessage[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key ? m.key.toString('utf8') : null,
      value: m.value,
      headers: headersOf(m.headers),
      timestampMs: Number(m.timestamp),
    }))
    await handle(
      {
        topic: batch.topic,
        partition: batch.partition,
        messages,
        highWatermark: batch.highWatermark,
      },
      { heartbeat, isRunning: () => running() && isRunning() && !isStale() },
    )
    const last = batch.messages[batch.messages.length - 1]
    if (!last) return
    resolveOffset(last.offset)
    await commits.submit({
      topic: batch.topic,
      partition: batch.partition,
      offset: (BigInt(last.offset) + 1n).toString(),
    })
  }
}

async function connectAdmin(kafka: Kafka): Promise<BusAdmin> {
  const admin: Admin = kafka.admin()
  await admin.connect()
  return {
    async createTopics(topics) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      })
    },
    listTopics: () => admin.listTopics(),
    async partitionCount(topic) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] })
      return meta.topics[0]?.partitions.length ?? 0
    },
    async endOffsets(topic) {
      const offsets = await admin.fetchTopicOffsets(topic)
      return new Map(offsets.map((o) => [o.partition, o.high]))
    },
    async groupOffsets(groupId, topic) {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
      return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]))
    },
    close: () => admin.disconnect(),
  }
}
