import type pg from 'pg'

/** Writers notify this channel; the payload names the schema (test regions share a database). */
export const outboxChannel = 'meridian_outbox'

/**
 * Under load the relay is busy and needs no wake-ups, and each one is a Postgres round trip: at
 * most one per this interval per writer (one every commit took ~7% off the fast path's maximum).
 */
export const notifyIntervalMsMin = 20

/**
 * Wakes the outbox relay, in whatever process it runs, after a commit that wrote outbox rows:
 * one `pg_notify` on the pool, sent after the commit and never inside the writing transaction.
 * (A transaction that notifies takes a database-wide lock at commit and holds it through its WAL
 * flush, which would line up every concurrent payment commit behind one another.) Calls made
 * while one is on its way, or within `notifyIntervalMsMin` of the last, fold into one more. A
 * lost one costs only latency: the relay still looks every `idlePollMs`.
 */
export class OutboxSignal {
  private sending = false
  private again = false
  private lastSentMs = Number.NEGATIVE_INFINITY

  constructor(
    private readonly pool: pg.Pool,
    private readonly intervalMsMin = notifyIntervalMsMin,
  ) {}

  committed(): void {
    if (this.sending) {
      this.again = true
      return
    }
    this.sending = true
    void this.send()
  }

  private async send(): Promise<void> {
    do {
      this.again = false
      const waitMs = this.lastSentMs + this.intervalMsMin - performance.now()
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs))
      this.lastSentMs = performance.now()
      await this.pool
        .query('select pg_notify($1, current_schema())', [outboxChannel])
        .catch(() => {}) // the relay's own poll finds the rows a lost wake-up would have announced
    } while (this.again)
    this.sending = false
  }
}
