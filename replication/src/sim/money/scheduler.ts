/**
 * Virtual time for the money-path model. Everything that takes time (a network hop, a processor's
 * answer, a timeout, a backoff) is a timer here; the run pops timers in (time, insertion) order
 * and, after each, lets every promise continuation it caused run to completion before the next
 * (one macrotask turn). The model's code is ordinary async code, yet a seed decides every
 * interleaving: nothing else in the process schedules work while a run is going on.
 */
interface Timer {
  readonly atMs: number
  readonly seq: number
  readonly run: () => void
}

export class Scheduler {
  nowMs = 0
  private readonly heap: Timer[] = []
  private seq = 0
  /** Timers fired so far: the run's size, reported with its stats. */
  fired = 0

  after(delayMs: number, run: () => void): void {
    this.push({ atMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, run })
  }

  /** Fire timers due before `untilMs`, in order; the clock ends at `untilMs`. */
  async runUntil(untilMs: number): Promise<void> {
    for (let next = this.heap[0]; next !== undefined && next.atMs <= untilMs; next = this.heap[0]) {
      this.pop()
      this.nowMs = next.atMs
      this.fired++
      next.run()
      // Let the continuations the timer released (and theirs) run before the next timer.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    this.nowMs = Math.max(this.nowMs, untilMs)
  }

  private push(t: Timer): void {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i] as Timer, h[parent] as Timer)) break
      ;[h[i], h[parent]] = [h[parent] as Timer, h[i] as Timer]
      i = parent
    }
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()
    if (last === undefined || h.length === 0) return
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && before(h[l] as Timer, h[m] as Timer)) m = l
      if (r < h.length && before(h[r] as Timer, h[m] as Timer)) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m] as Timer, h[i] as Timer]
      i = m
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
}

export type HostState = 'up' | 'hung' | 'down'

/**
 * One process of a region (its API, or its back office: relay, workers, reconciler, replication).
 * Its timers fire only while it lives: a hung process (SIGSTOP) parks them until it resumes, a
 * crashed one drops them, so the async work it had in flight is lost, as in a real crash; what
 * it committed stays in its region's store.
 */
export class Host {
  state: HostState = 'up'
  private incarnation = 0
  private parked: (() => void)[] = []

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler,
  ) {}

  after(delayMs: number, run: () => void): void {
    this.bound()(delayMs, run)
  }

  /**
   * `after` for this incarnation of the process, whenever it is called: an answer to a request
   * this process sent must not wake the process that replaced it after a crash.
   */
  bound(): (delayMs: number, run: () => void) => void {
    const incarnation = this.incarnation
    return (delayMs, run) => this.scheduler.after(delayMs, () => this.fire(incarnation, run))
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.after(delayMs, resolve))
  }

  /** A callback that, whenever called, runs `run` in this incarnation of the process (or never). */
  guard(run: () => void): () => void {
    const after = this.bound()
    return () => after(0, run)
  }

  private fire(incarnation: number, run: () => void): void {
    if (incarnation !== this.incarnation) return
    if (this.state === 'hung') {
      this.parked.push(() => this.fire(incarnation, run))
      return
    }
    run()
  }

  hang(): void {
    if (this.state === 'up') this.state = 'hung'
  }

  resume(): void {
    if (this.state !== 'hung') return
    this.state = 'up'
    const parked = this.parked
    this.parked = []
    for (const run of parked) this.scheduler.after(0, run)
  }

  crash(): void {
    this.incarnation++
    this.state = 'down'
    this.parked = []
  }

  /** Up again after a crash: the caller starts the process's loops anew. */
  restart(): void {
    this.state = 'up'
  }
}

/** A wake-up many waiters can wait on (new events on a topic); each wakes in its own process. */
export class Signal {
  private waiters: (() => void)[] = []

  wait(host: Host): Promise<void> {
    return new Promise((resolve) => this.waiters.push(host.guard(resolve)))
  }

  notify(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }
}
