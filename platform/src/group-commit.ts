import { invariant } from '@meridian/core'

export interface GroupCommitOptions<I> {
  /** Most items one transaction carries. */
  readonly batchSizeMax: number
  /** Transactions in flight at once; while they commit, new items queue into the next batch. */
  readonly flushesInFlightMax: number
  /** Items with the same key never share a batch (two writes of one idempotency key). Absent: any may. */
  readonly keyOf?: (item: I) => string
  /** Items waiting beyond this are refused, so overload shows as errors, not unbounded memory. */
  readonly queueDepthMax: number
}

interface Waiting<I, R> {
  readonly item: I
  resolve(result: R): void
  reject(error: unknown): void
}

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError'
}

/**
 * Group commit: many concurrent requests share one durable Postgres commit (one fsync) instead of
 * paying one each. There is no timer: the first item flushes at once, and whatever arrives while
 * a commit is in flight rides in the next one, so batches grow with load and latency stays low.
 * The same shape serves any costly round trip: the replication applier's transactions and the
 * Kafka producer's requests go through one of these too.
 */
export class GroupCommitter<I, R> {
  private readonly queue: Waiting<I, R>[] = []
  private inFlight = 0
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly flushBatch: (items: readonly I[]) => Promise<readonly R[]>,
    private readonly options: GroupCommitOptions<I>,
  ) {}

  get depth(): number {
    return this.queue.length
  }

  submit(item: I): Promise<R> {
    if (this.queue.length >= this.options.queueDepthMax) {
      return Promise.reject(
        new QueueFullError(`group commit queue is full (${this.options.queueDepthMax})`),
      )
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      this.pump()
    })
  }

  /** Resolves once nothing is queued or committing (graceful shutdown). */
  drained(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private takeBatch(): Waiting<I, R>[] {
    const batch: Waiting<I, R>[] = []
    const keys = new Set<string>()
    const held: Waiting<I, R>[] = []
    while (this.queue.length > 0 && batch.length < this.options.batchSizeMax) {
      const next = this.queue.shift()
      if (!next) break
      const key = this.options.keyOf?.(next.item)
      if (key !== undefined && keys.has(key)) held.push(next)
      else {
        if (key !== undefined) keys.add(key)
        batch.push(next)
      }
    }
    this.queue.unshift(...held)
    return batch
  }

  private pump(): void {
    while (this.inFlight < this.options.flushesInFlightMax && this.queue.length > 0) {
      const batch = this.takeBatch()
      this.inFlight += 1
      void this.flush(batch)
    }
    if (this.queue.length === 0 && this.inFlight === 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const w of waiters) w()
    }
  }

  private async flush(batch: Waiting<I, R>[]): Promise<void> {
    try {
      const results = await this.flushBatch(batch.map((w) => w.item))
      invariant(results.length === batch.length, 'a flush returns one result per item')
      for (const [i, w] of batch.entries()) w.resolve(results[i] as R)
    } catch (error) {
      for (const w of batch) w.reject(error)
    } finally {
      this.inFlight -= 1
      this.pump()
    }
  }
}
