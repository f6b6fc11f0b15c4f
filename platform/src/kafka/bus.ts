/**
 * The message bus every service talks to, whatever Kafka client sits behind it: these small
 * interfaces, the settings that pick the client, and the limits every implementation honours.
 * Implementations: kafkajs.ts (the default) and platformatic.ts; index.ts picks one.
 */
import type { Logger } from '../log.ts'
import type { KafkaAuth } from './msk-auth.ts'

export interface KafkaConfig {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly log: Logger
  readonly connectionTimeoutMs?: number
  readonly requestTimeoutMs?: number
  /** How many times the client retries a failed request before giving up (default 8). */
  readonly requestRetriesMax?: number
  /** How to authenticate; unset: from KAFKA_AUTH (plaintext locally, IAM over TLS on MSK). */
  readonly auth?: KafkaAuth
  /** Which client library implements the bus; unset: from KAFKA_CLIENT (default kafkajs). */
  readonly client?: KafkaClient
}

/**
 * The Kafka client libraries behind the bus. kafkajs is the default; @platformatic/kafka passes
 * the same contract suite and is kept selectable (docs/ARCHITECTURE.md, "Kafka client").
 */
export const kafkaClients = ['kafkajs', 'platformatic'] as const
export type KafkaClient = (typeof kafkaClients)[number]

/**
 * KAFKA_CLIENT for a caller that passes no client (tools, tests): the services' settings modules
 * read the same variable with the same choices (`kafkaClients`) and pass `client` explicitly.
 */
export function kafkaClientFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClient {
  const value = env.KAFKA_CLIENT ?? 'kafkajs'
  if (!(kafkaClients as readonly string[]).includes(value))
    throw new Error(`KAFKA_CLIENT must be ${kafkaClients.join(' or ')}, not "${value}"`)
  return value as KafkaClient
}

/** Default request retries, as kafkajs's own default. */
export const requestRetriesDefault = 8

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
/** Pause before starting again a consumer that crashed (its handler or its client gave up). */
export const consumerRestartDelayMs = 1000

/**
 * How long the broker may hold a fetch when there is nothing new (Kafka's fetch.max.wait.ms).
 * Data is still answered at once; this bounds a clean stop: a client's disconnect waits for the
 * fetch in flight, and at kafkajs's default (5 s) each consumer took ~5 s to stop, a region ~10 s.
 * The price is one empty fetch a second per idle consumer (~3% more of this 2-core machine for
 * the idle local topology).
 */
export const fetchWaitMsMax = 1000

/** Most concurrent sends one produce request carries. */
export const sendsPerRequestMax = 64
