/**
 * The one module that knows kafkajs. kafkajs is in maintenance mode, so everything else talks to
 * these small interfaces and a client swap (e.g. to a librdkafka binding) touches only this file.
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

export interface KafkaConfig {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly log: Logger
  readonly connectionTimeoutMs?: number
  readonly requestTimeoutMs?: number
  /** How many times kafkajs retries a failed request before giving up (default 8). */
  readonly requestRetriesMax?: number
  /** How to authenticate; unset: from KAFKA_AUTH (plaintext locally, IAM over TLS on MSK). */
  readonly auth?: KafkaAuth
}

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
      // Loaded only on MSK: the signer pulls in the AWS SDK's credential chain.
      oauthBearerProvider: async () => {
        const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js')
        const { token } = await generateAuthToken({ region })
        return { value: token }
      },
    },
  }
}

export interface OutMessage {
  readonly key: string
  readonly value: string | Buffer
  readonly headers?: Readonly<Record<string, string>>
  /** Set to place the message yourself (the hot-merchant partition map does); else hashed by key. */
  readonly partition?: number
}

export interface InMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly key: string | null
  readonly value: Buffer | null
  readonly headers: Readonly<Record<string, string>>
  readonly timestampMs: number
}

export interface Batch {
  readonly topic: string
  readonly partition: number
  readonly messages: readonly InMessage[]
  readonly highWatermark: string
}

export interface BatchContext {
  heartbeat(): Promise<void>
  /** False once the consumer is stopping or the partition was revoked: stop work early. */
  isRunning(): boolean
}

export interface BusProducer {
  send(topic: string, messages: readonly OutMessage[]): Promise<void>
  close(): Promise<void>
}

export interface ConsumerOptions {
  readonly groupId: string
  /**
   * Partitions only this member may consume (a hot merchant's dedicated consumer), by topic.
   * Members claiming nothing share the rest. All members of the group use the same assigner.
   */
  readonly claims?: Readonly<Record<string, readonly number[]>>
  readonly topics: readonly string[] | RegExp
  readonly fromBeginning?: boolean
  readonly sessionTimeoutMs?: number
  /** Partitions handled at once (each partition's batches stay in order). Default 1. */
  readonly partitionsConcurrently?: number
  /** Called on every (re)assignment; return offsets to start from, e.g. positions kept in Postgres. */
  readonly onAssign?: (
    assignment: Readonly<Record<string, readonly number[]>>,
  ) => Promise<readonly { topic: string; partition: number; offset: string }[]>
}

export interface BusConsumer {
  /** Run until stop(); a batch's offsets are committed only after `handle` resolves for it. */
  start(handle: (batch: Batch, ctx: BatchContext) => Promise<void>): Promise<void>
  stop(): Promise<void>
}

export interface TopicSpec {
  readonly topic: string
  readonly partitions: number
  readonly config?: Readonly<Record<string, string>>
}

export interface BusAdmin {
  createTopics(topics: readonly TopicSpec[]): Promise<void>
  listTopics(): Promise<string[]>
  partitionCount(topic: string): Promise<number>
  /** High watermark per partition: the offset the next message will get. */
  endOffsets(topic: string): Promise<Map<number, string>>
  /** Committed offset per partition for a group ('-1' when none). */
  groupOffsets(groupId: string, topic: string): Promise<Map<number, string>>
  close(): Promise<void>
}

/** Chooses a partition for a keyed message; undefined falls back to hashing the key. */
export type Partitioner = (key: string, partitionCount: number) => number | undefined

export interface KafkaBus {
  producer(options?: {
    readonly idempotent?: boolean
    readonly partitioner?: Partitioner
  }): Promise<BusProducer>
  consumer(options: ConsumerOptions): BusConsumer
  admin(): Promise<BusAdmin>
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

/** Pause before starting again a consumer that kafkajs gave up on. */
export const consumerRestartDelayMs = 1000

/**
 * How long the broker may hold a fetch when there is nothing new (Kafka's fetch.max.wait.ms).
 * Data is still answered at once; this bounds a clean stop: kafkajs's disconnect waits for the
 * fetch in flight, and at kafkajs's default (5 s) each consumer took ~5 s to stop, a region ~10 s.
 * The price is one empty fetch a second per idle consumer (~3% more of this 2-core machine for
 * the idle local topology).
 */
export const fetchWaitMsMax = 1000

export function createKafkaBus(config: KafkaConfig): KafkaBus {
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: config.connectionTimeoutMs ?? 3000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogger(config.log),
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: config.requestRetriesMax ?? 8 },
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

/** Most concurrent sends one produce request carries. */
export const sendsPerRequestMax = 64

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
