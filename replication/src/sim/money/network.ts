import type { Rng } from '@meridian/platform'
import type { Scheduler } from './scheduler.ts'
import type { ModelEvent } from './store.ts'
import type { Telemetry } from './telemetry.ts'

interface Link {
  readonly from: string
  readonly to: string
  /** Published at the origin, not yet copied (the link is paused, or just now). */
  readonly waiting: ModelEvent[]
  pausedUntilMs: number
  /** Per merchant (a Kafka partition): when its last event arrives, so none overtakes it. */
  readonly lastArrivalMs: Map<string, number>
}

const delayMsMin = 5
const delayMsMax = 250
const duplicateRate = 0.03

/**
 * The replication links between regions: every event published in one region is copied to each
 * other region's Kafka after its own delay, in order within its partition (one merchant's events
 * from one origin, as Kafka keeps them), while other merchants' and other regions' events
 * overtake each other; sometimes delivered again later (at-least-once); and not at all while
 * the link is paused (a stalled replicator, a partition): then it waits at the origin and flows
 * on when the link resumes.
 */
export class Replication {
  private readonly links = new Map<string, Link>()
  inTransit = 0

  constructor(
    regions: readonly string[],
    private readonly scheduler: Scheduler,
    private readonly rng: Rng,
    private readonly deliver: (to: string, e: ModelEvent) => void,
    private readonly t: Telemetry,
  ) {
    for (const from of regions)
      for (const to of regions)
        if (from !== to)
          this.links.set(`${from}>${to}`, {
            from,
            to,
            waiting: [],
            pausedUntilMs: 0,
            lastArrivalMs: new Map(),
          })
  }

  ship(e: ModelEvent): void {
    for (const link of this.links.values()) {
      if (link.from !== e.origin) continue
      link.waiting.push(e)
      this.pump(link)
    }
  }

  /** Pause a link until `untilMs` (a later pause extends it; healing ends every pause). */
  pause(from: string, to: string, forMs: number): void {
    const link = this.links.get(`${from}>${to}`)
    if (!link) return
    link.pausedUntilMs = Math.max(link.pausedUntilMs, this.scheduler.nowMs + forMs)
    this.scheduler.after(forMs, () => this.pump(link))
  }

  healAll(): void {
    for (const link of this.links.values()) {
      link.pausedUntilMs = 0
      this.pump(link)
    }
  }

  get idle(): boolean {
    return this.inTransit === 0 && [...this.links.values()].every((l) => l.waiting.length === 0)
  }

  private pump(link: Link): void {
    if (this.scheduler.nowMs < link.pausedUntilMs) return
    for (const e of link.waiting.splice(0, link.waiting.length)) {
      const partition = e.envelope.merchant_id
      const atMs = Math.max(
        link.lastArrivalMs.get(partition) ?? 0,
        this.scheduler.nowMs + delayMsMin + this.rng.int(delayMsMax - delayMsMin),
      )
      link.lastArrivalMs.set(partition, atMs)
      this.send(link, e, atMs - this.scheduler.nowMs)
      if (this.rng.chance(duplicateRate)) {
        this.t.count('replicationDuplicates')
        this.send(link, e, atMs - this.scheduler.nowMs + this.rng.int(4 * delayMsMax))
      }
    }
  }

  private send(link: Link, e: ModelEvent, delayMs: number): void {
    this.inTransit++
    this.scheduler.after(delayMs, () => {
      this.inTransit--
      this.t.count('replicationDeliveries')
      this.deliver(link.to, { ...e, envelope: asJsonb(e.envelope) })
    })
  }
}

/**
 * An event as the receiving region decodes it: the outbox keeps envelopes as PostgreSQL jsonb,
 * which orders an object's keys by length, then bytewise, so the objects a region receives
 * differ in key order from the rows it holds (a merge must not care).
 */
export function asJsonb<T>(value: T): T {
  if (Array.isArray(value)) return value.map(asJsonb) as T
  if (value === null || typeof value !== 'object') return value
  const entries = Object.entries(value).sort(
    ([a], [b]) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0),
  )
  return Object.fromEntries(entries.map(([k, v]) => [k, asJsonb(v)])) as T
}
