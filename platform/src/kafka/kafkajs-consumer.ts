/**
 * A bus consumer over kafkajs: restart after crashes kafkajs will not retry, seek to stored
 * positions on assignment, and commit a batch's offsets only after its handler finished.
 */
import type { Consumer, EachBatchHandler, Kafka, TopicPartitionOffset } from 'kafkajs'
import { GroupCommitter } from '../group-commit.ts'
import type { Logger } from '../log.ts'
import { dedicatedAssigner } from './assigner.ts'
import {
  type BusConsumer,
  type ConsumerOptions,
  consumerRestartDelayMs,
  fetchWaitMsMax,
  type InMessage,
} from './bus.ts'

export function wrapConsumer(kafka: Kafka, options: ConsumerOptions, log: Logger): BusConsumer {
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

function headersOf(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (Buffer.isBuffer(v)) out[k] = v.toString('utf8')
    else if (typeof v === 'string') out[k] = v
  }
  return out
}
