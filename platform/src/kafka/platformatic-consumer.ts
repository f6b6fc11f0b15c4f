/**
 * The bus consumer over @platformatic/kafka. platformatic hands out a stream of single messages
 * and fetches ahead of the handler; the bus promises batches per partition, handled in order,
 * committed only after their handler resolved. So messages queue per partition as they arrive
 * (one fetch response arrives in one burst), and each partition's queue goes to the handler as a
 * batch, at most `partitionsConcurrently` partitions at a time, then its offset is committed.
 */
import {
  type BaseOptions,
  type CallbackWithPromise,
  Consumer,
  type ConsumerGroupJoinPayload,
  type FetchOptions,
  type fetchV17,
  type GroupPartitionsAssigner,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka'
import type { Logger } from '../log.ts'

type FetchResponse = fetchV17.FetchResponse

import {
  assignDedicated,
  type Claims,
  decodeClaims,
  dedicatedAssignerName,
  encodeClaims,
} from './assigner.ts'
import {
  type Batch,
  type BatchContext,
  type BusConsumer,
  type ConsumerOptions,
  consumerRestartDelayMs,
  fetchWaitMsMax,
  type InMessage,
} from './bus.ts'

type Handler = (batch: Batch, ctx: BatchContext) => Promise<void>
type PMessage = Message<Buffer, Buffer, string, Buffer>

/** Messages held in the per-partition queues before the stream is paused (bounds memory). */
export const queuedMessagesMax = 10_000

/**
 * platformatic's fetch results carry each partition's high watermark, but its messages do not.
 * The applier's lag gauge needs it, so this consumer notes it from every fetch response.
 */
class WatermarkedConsumer extends Consumer<Buffer, Buffer, string, Buffer> {
  /** `${topicId}:${partition}` → high watermark. */
  readonly highWatermarks = new Map<string, bigint>()

  override fetch(
    options: FetchOptions<Buffer, Buffer, string, Buffer>,
    callback: CallbackWithPromise<FetchResponse>,
  ): void
  override fetch(options: FetchOptions<Buffer, Buffer, string, Buffer>): Promise<FetchResponse>
  override fetch(
    options: FetchOptions<Buffer, Buffer, string, Buffer>,
    callback?: CallbackWithPromise<FetchResponse>,
  ): undefined | Promise<FetchResponse> {
    if (!callback) return super.fetch(options)
    super.fetch(options, (error, response) => {
      for (const t of response?.responses ?? [])
        for (const p of t.partitions)
          this.highWatermarks.set(`${t.topicId}:${p.partitionIndex}`, p.highWatermark)
      callback(error, response as FetchResponse)
    })
    return undefined
  }

  highWatermark(topic: string, partition: number): bigint | undefined {
    const id = this.currentMetadata?.topics.get(topic)?.id
    return id === undefined ? undefined : this.highWatermarks.get(`${id}:${partition}`)
  }
}

const keyOf = (topic: string, partition: number) => `${topic}:${partition}`

function toInMessage(m: PMessage): InMessage {
  const headers: Record<string, string> = {}
  for (const [k, v] of m.headers) headers[k] = v.toString('utf8')
  return {
    topic: m.topic,
    partition: m.partition,
    offset: String(m.offset),
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ?? null,
    headers,
    timestampMs: Number(m.timestamp),
  }
}

/** The dedicated assigner (assigner.ts) in platformatic's form. */
const platformaticAssigner: GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const assignment = assignDedicated(
    [...members].map(([memberId, m]) => ({
      memberId,
      claims: decodeClaims(typeof m.metadata === 'string' ? Buffer.from(m.metadata) : m.metadata),
    })),
    (topic) =>
      Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, p) => p),
    topics,
  )
  return [...members.keys()].map((memberId) => ({
    memberId,
    assignments: new Map(
      Object.entries(assignment.get(memberId) ?? {}).map(([topic, partitions]) => [
        topic,
        { topic, partitions },
      ]),
    ),
  }))
}

/**
 * What this member may consume of what the group gave it. platformatic skips the assigner when a
 * member is alone in its group and gives it every partition; a member with claims must still
 * consume only those (a lone dedicated consumer leaves the shared partitions to nobody, as with
 * kafkajs).
 */
function ownedPartitions(
  assignments: ConsumerGroupJoinPayload['assignments'],
  claims: Claims,
): Map<string, number[]> {
  const claimed = Object.keys(claims).length > 0
  const out = new Map<string, number[]>()
  for (const a of assignments ?? []) {
    const mine = claimed ? a.partitions.filter((p) => claims[a.topic]?.includes(p)) : a.partitions
    if (mine.length > 0) out.set(a.topic, [...mine])
  }
  return out
}

export function platformaticConsumer(
  base: BaseOptions,
  options: ConsumerOptions,
  log: Logger,
): BusConsumer {
  if (options.topics instanceof RegExp)
    throw new Error('the platformatic Kafka bus subscribes to named topics only, not a RegExp')
  const topics = [...options.topics]
  let running = false
  let session: Session | undefined
  let restartTimer: NodeJS.Timeout | undefined

  const startSession = async (handle: Handler) => {
    const s = new Session(base, options, topics, handle, log, (error) => {
      if (session !== s || !running) return
      log.error('consumer stopped on an error; starting it again', {
        groupId: options.groupId,
        error: error instanceof Error ? error.message : String(error),
        restartInMs: consumerRestartDelayMs,
      })
      session = undefined
      void s.close()
      restartLater(handle)
    })
    session = s
    await s.start()
  }
  const restartLater = (handle: Handler) => {
    restartTimer = setTimeout(() => {
      if (!running) return
      startSession(handle).catch((error: unknown) => {
        log.error('consumer restart failed; trying again', {
          groupId: options.groupId,
          error: error instanceof Error ? error.message : String(error),
        })
        const failed = session
        session = undefined
        void failed?.close()
        restartLater(handle)
      })
    }, consumerRestartDelayMs)
  }
  return {
    async start(handle) {
      running = true
      await startSession(handle)
    },
    async stop() {
      running = false
      clearTimeout(restartTimer)
      const last = session
      session = undefined
      await last?.close()
    },
  }
}

interface Queue {
  readonly topic: string
  readonly partition: number
  messages: PMessage[]
}

/** One platformatic consumer and its stream, from start to stop or crash. */
class Session {
  private readonly consumer: WatermarkedConsumer
  private stream: MessagesStream<Buffer, Buffer, string, Buffer> | undefined
  private readonly queues = new Map<string, Queue>()
  /** Partitions whose batch is with the handler now. */
  private readonly busy = new Map<string, Promise<void>>()
  private owned = new Map<string, number[]>()
  /** Next offset to hand over per partition: what comes again after a rebalance is dropped. */
  private readonly next = new Map<string, bigint>()
  /** Positions onAssign returned for the current generation. */
  private seeks = new Map<string, bigint>()
  private generation = 0
  private assigning = false
  private queued = 0
  private closed = false

  constructor(
    base: BaseOptions,
    private readonly options: ConsumerOptions,
    private readonly topics: string[],
    private readonly handle: Handler,
    private readonly log: Logger,
    private readonly crashed: (error: unknown) => void,
  ) {
    const claims = options.claims ?? {}
    this.consumer = new WatermarkedConsumer({
      ...base,
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1000,
      protocols: [{ name: dedicatedAssignerName, version: 1, metadata: encodeClaims(claims) }],
      partitionAssigner: platformaticAssigner,
      autocommit: false,
      maxWaitTime: fetchWaitMsMax,
    })
    this.consumer.on('consumer:group:join', (payload) => this.joined(payload, claims))
  }

  async start(): Promise<void> {
    const stream = await this.consumer.consume({
      topics: this.topics,
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode:
        (this.options.fromBeginning ?? true)
          ? MessagesStreamFallbackModes.EARLIEST
          : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
      maxWaitTime: fetchWaitMsMax,
    })
    this.stream = stream
    stream.on('data', (m) => this.arrived(m))
    stream.on('offsets', () => this.applySeeks())
    stream.on('error', (error) => this.fail(error))
    stream.on('close', () => this.fail(new Error('the consumer stream closed')))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // As kafkajs's disconnect: the batches being handled finish (and commit) first.
    await Promise.allSettled(this.busy.values())
    await this.stream?.close().catch(() => {})
    await this.consumer.close().catch(() => this.consumer.close(true).catch(() => {}))
  }

  private fail(error: unknown): void {
    if (this.closed) return
    this.crashed(error)
  }

  private joined(payload: ConsumerGroupJoinPayload, claims: Claims): void {
    const generation = ++this.generation
    this.owned = ownedPartitions(payload.assignments, claims)
    const keep = new Set([...this.owned].flatMap(([t, ps]) => ps.map((p) => keyOf(t, p))))
    for (const key of [...this.queues.keys(), ...this.next.keys()]) {
      if (keep.has(key)) continue
      this.queued -= this.queues.get(key)?.messages.length ?? 0
      this.queues.delete(key)
      // Another member may have moved this partition on: its committed offset decides again.
      this.next.delete(key)
    }
    this.seeks = new Map()
    const onAssign = this.options.onAssign
    if (!onAssign) return
    // Hand nothing over until the positions are known: the first batch must start there.
    this.assigning = true
    onAssign(Object.fromEntries(this.owned))
      .then(
        (positions) => {
          if (generation !== this.generation) return
          for (const p of positions) this.seeks.set(keyOf(p.topic, p.partition), BigInt(p.offset))
          for (const [key, offset] of this.seeks) {
            this.next.set(key, offset)
            const queue = this.queues.get(key)
            if (!queue) continue
            const before = queue.messages.length
            queue.messages = queue.messages.filter((m) => m.offset >= offset)
            this.queued -= before - queue.messages.length
          }
          this.applySeeks()
        },
        // As in the kafkajs bus: start from the committed offsets, which never run ahead of the
        // stored positions (at worst a redelivery, which consumers drop by event id).
        (error: unknown) =>
          this.log.warn('consumer positions unavailable; starting from committed offsets', {
            groupId: this.options.groupId,
            error: error instanceof Error ? error.message : String(error),
          }),
      )
      .finally(() => {
        if (generation !== this.generation) return
        this.assigning = false
        this.pump()
      })
  }

  /**
   * Point the stream's next fetch at the sought positions. Applied again after each offsets
   * refresh of the stream (a rebalance makes it reload committed offsets), forward only, so a
   * position already consumed past is never read again.
   */
  private applySeeks(): void {
    const toFetch = this.stream?.offsetsToFetch
    if (!toFetch) return
    for (const [key, offset] of this.seeks) {
      const current = toFetch.get(key)
      if (current === undefined || current < offset) toFetch.set(key, offset)
    }
  }

  private arrived(m: PMessage): void {
    const key = keyOf(m.topic, m.partition)
    if (!this.owned.get(m.topic)?.includes(m.partition)) return
    if (m.offset < (this.next.get(key) ?? -1n)) return
    let queue = this.queues.get(key)
    if (!queue) {
      queue = { topic: m.topic, partition: m.partition, messages: [] }
      this.queues.set(key, queue)
    }
    queue.messages.push(m)
    this.next.set(key, m.offset + 1n)
    this.queued++
    if (this.queued >= queuedMessagesMax) this.stream?.pause()
    // The rest of this fetch response arrives in the same tick: take it into the same batch.
    setImmediate(() => this.pump())
  }

  private pump(): void {
    if (this.closed || this.assigning) return
    const concurrency = this.options.partitionsConcurrently ?? 1
    for (const [key, queue] of this.queues) {
      if (this.busy.size >= concurrency) return
      if (this.busy.has(key) || queue.messages.length === 0) continue
      const messages = queue.messages
      queue.messages = []
      this.queued -= messages.length
      if (this.queued < queuedMessagesMax / 2 && this.stream?.isPaused()) this.stream.resume()
      const work = this.deliver(queue, messages).then(
        () => {
          this.busy.delete(key)
          this.pump()
        },
        (error: unknown) => {
          this.busy.delete(key)
          this.fail(error)
        },
      )
      this.busy.set(key, work)
    }
  }

  /** Hand one partition's batch to the handler, then commit it: never the other way round. */
  private async deliver(queue: Queue, messages: PMessage[]): Promise<void> {
    const { topic, partition } = queue
    const generation = this.generation
    const last = messages[messages.length - 1] as PMessage
    const stillMine = () =>
      !this.closed && generation === this.generation && !!this.owned.get(topic)?.includes(partition)
    await this.handle(
      {
        topic,
        partition,
        messages: messages.map(toInMessage),
        highWatermark: String(this.consumer.highWatermark(topic, partition) ?? last.offset + 1n),
      },
      { heartbeat: async () => {}, isRunning: stillMine },
    )
    // A partition revoked meanwhile belongs to another member now, which starts from the last
    // commit: committing for it here could skip what that member has not handled.
    if (!stillMine() && !this.closed) return
    await last.commit()
  }
}
