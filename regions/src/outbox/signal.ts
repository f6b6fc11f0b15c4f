import type pg from 'pg'

/** Writers notify this channel; the payload names the schema (test regions share a database). */
export const outboxChannel = 'meridian_outbox'

/**
 * Wakes the outbox relay, in whatever process it runs, after a commit that wrote outbox rows:
 * one `pg_notify` on the pool, sent after the commit and never inside the writing transaction.
 * (A transaction that notifies takes a database-wide lock at commit and holds it through its WAL
 * flush, which would line up every concurrent payment commit behind one another.) Calls made
 * while one is on its way fold into one more after it, so a busy writer sends at most one per
 * round trip. A lost one costs only latency: the relay still looks every `idlePollMs`.
 */
export class OutboxSignal {
  private sending = false
  private again = false

  constructor(private readonly pool: pg.Pool) {}

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
      await this.pool
        .query('select pg_notify($1, current_schema())', [outboxChannel])
        .catch(() => {}) // the relay's own poll finds the rows a lost wake-up would have announced
    } while (this.again)
    this.sending = false
  }
}
