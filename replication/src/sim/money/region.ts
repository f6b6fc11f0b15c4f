import { HybridClock } from '@meridian/core'
import type { Rng } from '@meridian/platform'
import type { ProcessorPins } from '@meridian/regions/replication'
import { breakerDefaults, CircuitBreaker } from '@meridian/regions/replication'
import { type Made, type Protocol, RegionApi } from './api.ts'
import { ModelCompensator } from './compensation.ts'
import { ModelFlow, type RoutedProcessor } from './flow.ts'
import type { ModelProcessor } from './processors.ts'
import { Host, type Scheduler, Signal } from './scheduler.ts'
import { type ModelEvent, RegionStore } from './store.ts'
import type { Telemetry } from './telemetry.ts'

/** The reconciler's clocks (reconcilerDefaults, scaled down so a run sees every path). */
export interface ReconcilerTimes {
  readonly intervalMs: number
  readonly stuckAfterMs: number
  readonly unsentFailAfterMs: number
  readonly authorizationTtlMs: number
}

export interface RegionDeps {
  readonly id: string
  readonly scheduler: Scheduler
  readonly rng: Rng
  readonly protocol: Protocol
  readonly compensation: boolean
  readonly skewMs: number
  readonly processors: readonly ModelProcessor[]
  readonly routeFor: (paymentId: string) => readonly string[]
  /** The fleet's write-once register (regions/src/adapters/pins.ts), shared by every region. */
  readonly register: ProcessorPins
  readonly reconciler: ReconcilerTimes
  /** Hand a published event to replication (every link out of this region). */
  readonly ship: (e: ModelEvent) => void
  readonly made: (m: Made) => void
  readonly t: Telemetry
  /** An error a real process would log and survive (the payment is retried later). */
  readonly failed: (where: string, error: unknown) => void
}

/** Events that leave work for a processor (regions/src/workflow/worker.ts). */
const actionable = new Set([
  'payment.created',
  'payment.authorized',
  'payment.capture_requested',
  'payment.cancel_requested',
  'refund.created',
])

/**
 * One region: its store (Postgres), its API process, and its back office (outbox relay, processor
 * workers consuming the region's own events topic, the reconciler with the duplicate compensator,
 * the replication applier), each a loop in a process that can hang or crash. Workers commit
 * their topic offset only after a batch is done, so a crash redelivers what was in flight.
 */
export class ModelRegion {
  readonly apiHost: Host
  readonly back: Host
  readonly store: RegionStore
  readonly clock: HybridClock
  readonly api: RegionApi
  /** Replicated events in this region's Kafka, not yet merged. */
  readonly inbound: ModelEvent[] = []
  private readonly topic: string[] = []
  private offset = 0
  private readonly published = new Signal()
  private readonly outboxed = new Signal()
  private readonly arrived = new Signal()
  private readonly workerFlow: ModelFlow
  private readonly reconcilerFlow: ModelFlow
  private readonly compensator: ModelCompensator
  /** A worker batch or applier batch is under way (quiescence waits for them). */
  busy = 0
  /** Armed by a fault: the API hangs right after its next commit, before answering. */
  hangAfterCommit: (() => void) | undefined

  constructor(private readonly d: RegionDeps) {
    this.apiHost = new Host(`${d.id}/api`, d.scheduler)
    this.back = new Host(`${d.id}/back`, d.scheduler)
    this.clock = new HybridClock(d.id, () => this.wallMs())
    this.store = new RegionStore(
      d.id,
      () => this.wallMs(),
      () => this.outboxed.notify(),
      d.t,
    )
    this.api = new RegionApi(d.id, this.store, this.clock, () => this.wallMs(), d.protocol, d.made)
    this.workerFlow = this.flow('worker')
    this.reconcilerFlow = this.flow('reconciler')
    this.compensator = new ModelCompensator(
      this.store,
      this.reconcilerFlow,
      d.register,
      d.id,
      () => this.wallMs(),
      d.t,
      d.failed,
    )
  }

  wallMs(): number {
    return 1_800_000_000_000 + this.d.scheduler.nowMs + this.d.skewMs
  }

  /** A process's own processor clients: its own circuit breakers, its calls die with it. */
  private flow(name: string): ModelFlow {
    const processors = new Map<string, RoutedProcessor>(
      this.d.processors.map((p) => [
        p.name,
        {
          adapter: p.adapterFor(this.back),
          breaker: new CircuitBreaker(p.name, breakerDefaults, () => this.wallMs()),
        },
      ]),
    )
    return new ModelFlow({
      region: this.d.id,
      store: this.store,
      clock: this.clock,
      wallMs: () => this.wallMs(),
      host: this.back,
      processors,
      routeFor: this.d.routeFor,
      pins: this.d.register,
      rng: this.d.rng,
      t: this.d.t,
      name,
    })
  }

  /** Start (or, after a crash, restart) the back office's loops. */
  start(): void {
    void this.relay()
    void this.workers()
    void this.applier()
    void this.reconciler()
  }

  crash(): void {
    this.apiHost.crash()
    this.back.crash()
    this.busy = 0
  }

  restart(): void {
    this.apiHost.restart()
    this.back.restart()
    this.start()
  }

  /** Replication delivered an event into this region's Kafka. */
  deliver(e: ModelEvent): void {
    this.inbound.push(e)
    this.arrived.notify()
  }

  /** Nothing pending here: no payment, capture, cancel or refund waits for a processor. */
  get settled(): boolean {
    const s = this.store
    return (
      [...s.payments.values()].every((r) => r.payment.status !== 'pending') &&
      [...s.operations.values()].every((r) => r.value.status !== 'pending') &&
      [...s.refunds.values()].every((r) => r.value.status !== 'pending')
    )
  }

  get idle(): boolean {
    return (
      this.busy === 0 &&
      this.store.outbox.length === 0 &&
      this.inbound.length === 0 &&
      this.offset >= this.topic.length
    )
  }

  /** The outbox relay: publishes committed events in commit order, to workers and replication. */
  private async relay(): Promise<void> {
    for (;;) {
      if (this.store.outbox.length === 0) {
        await this.outboxed.wait(this.back)
        continue
      }
      await this.back.sleep(1 + this.d.rng.int(5))
      const batch = this.store.outbox.splice(0, this.store.outbox.length)
      for (const e of batch) {
        const payment = (e.envelope.payload as { payment?: { id?: string } }).payment
        if (actionable.has(e.envelope.type) && payment?.id) this.topic.push(payment.id)
        this.d.ship(e)
      }
      this.published.notify()
    }
  }

  /** Processor workers: a batch's payments advanced together, the offset committed after. */
  private async workers(): Promise<void> {
    for (;;) {
      if (this.offset >= this.topic.length) {
        await this.published.wait(this.back)
        continue
      }
      const batch = this.topic.slice(this.offset, this.offset + 32)
      this.busy++
      await Promise.all(
        [...new Set(batch)].map((id) =>
          this.workerFlow.advance(id).catch((error: unknown) => this.d.failed('worker', error)),
        ),
      )
      this.busy--
      this.offset += batch.length
    }
  }

  /** The applier: batches of replicated events merged with the real rules. */
  private async applier(): Promise<void> {
    for (;;) {
      if (this.inbound.length === 0) {
        await this.arrived.wait(this.back)
        continue
      }
      this.busy++
      await this.back.sleep(1 + this.d.rng.int(10))
      this.busy--
      const batch = this.inbound.splice(0, 1 + this.d.rng.int(Math.min(this.inbound.length, 8)))
      try {
        this.store.applyBatch(batch)
      } catch (error) {
        this.d.failed('applier', error)
      }
    }
  }

  private async reconciler(): Promise<void> {
    for (;;) {
      await this.back.sleep(this.d.reconciler.intervalMs)
      this.busy++
      try {
        await this.reconcileOnce()
      } catch (error) {
        this.d.failed('reconciler', error)
      }
      this.busy--
    }
  }

  /** regions/src/workflow/reconciler.ts runOnce. */
  private async reconcileOnce(): Promise<void> {
    const t = this.d.reconciler
    const now = this.wallMs()
    const old = (updatedAtMs: number) => updatedAtMs < now - t.stuckAfterMs
    const stuck = new Set<string>()
    for (const row of this.store.payments.values()) {
      const p = row.payment
      if (
        ((p.status === 'pending' && p.originRegion === this.d.id) || p.pendingOperation !== null) &&
        old(row.updatedAtMs)
      )
        stuck.add(p.id)
    }
    for (const row of this.store.refunds.values())
      if (row.value.status === 'pending' && old(row.updatedAtMs)) stuck.add(row.value.paymentId)
    for (const row of this.store.operations.values())
      if (row.value.status === 'pending' && old(row.updatedAtMs)) stuck.add(row.value.paymentId)
    for (const id of [...stuck].sort().slice(0, 200)) await this.reconcile(id)
    const expiring = [...this.store.payments.values()]
      .map((r) => r.payment)
      .filter(
        (p) =>
          p.status === 'authorized' &&
          p.pendingOperation === null &&
          p.authorizedAtMs !== null &&
          p.authorizedAtMs < this.wallMs() - t.authorizationTtlMs,
      )
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, 200)
    for (const p of expiring) {
      try {
        if (await this.reconcilerFlow.requestCancel(p, 'expired')) this.d.t.count('expiries')
      } catch (error) {
        this.d.failed('expiry', error)
      }
    }
    if (this.d.compensation) await this.compensator.runOnce()
  }

  private async reconcile(id: string): Promise<void> {
    try {
      this.d.t.count('reconcilerAdvances')
      const before = this.store.payments.get(id)?.payment
      await this.reconcilerFlow.advance(id)
      const after = this.store.payments.get(id)?.payment
      const ageMs = before ? this.wallMs() - before.createdAtMs : 0
      if (
        after?.status === 'pending' &&
        after.processor === null &&
        ageMs > this.d.reconciler.unsentFailAfterMs
      ) {
        if (
          await this.reconcilerFlow.failUnsent(
            after,
            'No processor accepted the payment in time; nothing was charged.',
          )
        )
          this.d.t.count('failedUnsent')
      }
      this.store.touch(id)
    } catch (error) {
      this.d.failed('reconciler', error)
    }
  }
}
