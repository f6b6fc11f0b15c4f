import { sleep } from '@meridian/platform'
import { type AttemptInfo, Meridian, type RequestOptions } from '@meridian/sdk'
import type pg from 'pg'

/**
 * Captures, cancels and refunds of the same payments decided by two regions: the merchant side of
 * the `split-brain-ops` drill. It prepares payments (half for manual capture, half captured at
 * once), then sends one operation per payment to the home region while its replication lags,
 * and, once the home hangs, a conflicting operation (new key) or a retry of the first (same key)
 * through the edge, which fails over to the next region: two regions each decide on what they
 * know. Every answer is kept for the checker.
 */
export type OpKind = 'capture' | 'cancel' | 'refund'

export interface OpRecord {
  readonly kind: OpKind
  readonly key: string
  readonly paymentId: string
  readonly body: Readonly<Record<string, unknown>>
  readonly phase: 'before' | 'during'
  /** The final HTTP status after the merchant's retries (0: never answered). */
  status: number
  region?: string
  /** For a refund: the refund's id. */
  refundId?: string
}

export interface OpsPayment {
  readonly id: string
  readonly manual: boolean
  readonly amount: number
}

type Step = { readonly kind: OpKind; readonly body: Record<string, unknown> }
type Pair = { readonly before: Step; readonly during: Step | 'retry' }

const amount = 10_000
const capture = (part?: number): Step => ({
  kind: 'capture',
  body: part === undefined ? {} : { amount: part },
})
const cancel: Step = { kind: 'cancel', body: {} }
const refund = (part?: number): Step => ({
  kind: 'refund',
  body: part === undefined ? {} : { amount: part },
})

/** What each manual (authorized) and each automatic (captured) payment goes through. */
const manualPairs: readonly Pair[] = [
  { before: capture(), during: cancel },
  { before: cancel, during: capture() },
  { before: capture(6_000), during: capture() },
  { before: cancel, during: cancel },
  { before: capture(), during: capture(4_000) },
  { before: capture(), during: 'retry' },
]
const capturedPairs: readonly Pair[] = [
  { before: refund(), during: refund() },
  { before: refund(6_000), during: refund(6_000) },
  { before: refund(3_000), during: refund(3_000) },
  { before: refund(3_000), during: refund() },
  { before: refund(), during: 'retry' },
  { before: refund(5_000), during: refund(5_000) },
]

/** How a merchant retries an operation, through the SDK: same key, backoff, for a while. */
const retry = { timeoutMs: 10_000, giveUpAfterMs: 60_000 }

/** What the merchant last heard for one operation (its key): the status, and who answered. */
interface Heard {
  readonly status: number
  readonly region: string | undefined
}

export class SplitBrainOps {
  readonly payments: OpsPayment[] = []
  readonly records: OpRecord[] = []
  private readonly inFlight: Promise<unknown>[] = []
  private n = 0
  private readonly meridian: Meridian
  /** The last attempt of each key: a call given up on reports what its last attempt got. */
  private readonly heard = new Map<string, Heard>()
  /** Calls still retrying, by key: when each started, and how to give it up between attempts. */
  private readonly calls = new Map<string, { startedMs: number; giveUp: AbortController }>()

  constructor(
    edgeUrl: string,
    apiKey: string,
    private readonly runId: string,
  ) {
    this.meridian = new Meridian(apiKey, {
      baseUrl: edgeUrl,
      // Bounded by time (retry.giveUpAfterMs, per call), not by count.
      maxRetries: Number.MAX_SAFE_INTEGER,
      timeoutMs: retry.timeoutMs,
      retryDelayMsInitial: 200,
      retryDelayMsMax: 2_000,
      onAttempt: (a: AttemptInfo) => this.attempted(a),
    })
  }

  /** Payments to work on, authorized (manual) or captured, present in every region. */
  async prepare(pools: readonly pg.Pool[]): Promise<void> {
    const create = async (manual: boolean) => {
      const key = `${this.runId}-ops-pay-${this.n++}`
      const created = await this.meridian.payments
        .create(
          {
            amount,
            currency: 'usd',
            payment_method: 'pm_card_visa',
            capture_method: manual ? 'manual' : 'automatic',
            metadata: { drill_run: this.runId, drill_key: key },
          },
          this.callOptions(key),
        )
        .catch((e: unknown) => {
          const status = this.heardOf(key).status
          throw new Error(`split-brain-ops: could not create a payment (${status})`, { cause: e })
        })
      this.payments.push({ id: created.id, manual, amount })
    }
    await Promise.all([
      ...manualPairs.map(() => create(true)),
      ...capturedPairs.map(() => create(false)),
    ])
    const want = (p: OpsPayment) => (p.manual ? 'authorized' : 'captured')
    for (let waited = 0; ; waited += 250) {
      let ready = 0
      for (const pool of pools) {
        const { rows } = await pool.query<{ id: string; status: string }>(
          'select id, status from payments where id = any($1)',
          [this.payments.map((p) => p.id)],
        )
        ready += rows.filter(
          (r) => r.status === want(this.payments.find((p) => p.id === r.id) as OpsPayment),
        ).length
      }
      if (ready === this.payments.length * pools.length) return
      if (waited > 60_000) throw new Error('split-brain-ops: payments did not settle everywhere')
      await sleep(250)
    }
  }

  /** The first operation on every payment, sent to (and answered by) the home region. */
  async before(): Promise<void> {
    await Promise.all(this.pairs().map(([p, pair]) => this.send(p, pair.before, 'before')))
  }

  /** The conflicting operations (or retries), started now and answered by whoever answers. */
  startDuring(): void {
    for (const [p, pair] of this.pairs()) {
      const first = this.records.find((r) => r.paymentId === p.id && r.phase === 'before')
      const work =
        pair.during === 'retry' && first
          ? this.send(p, { kind: first.kind, body: first.body }, 'during', first.key)
          : this.send(p, pair.during === 'retry' ? cancel : pair.during, 'during')
      this.inFlight.push(work)
    }
  }

  /** Every operation answered (or given up on). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight)
  }

  private pairs(): [OpsPayment, Pair][] {
    const manual = this.payments.filter((p) => p.manual)
    const captured = this.payments.filter((p) => !p.manual)
    return [
      ...manual.map((p, i) => [p, manualPairs[i] as Pair] as [OpsPayment, Pair]),
      ...captured.map((p, i) => [p, capturedPairs[i] as Pair] as [OpsPayment, Pair]),
    ]
  }

  private async send(
    p: OpsPayment,
    step: Step,
    phase: OpRecord['phase'],
    key = `${this.runId}-op-${this.n++}`,
  ): Promise<void> {
    const record: OpRecord = {
      kind: step.kind,
      key,
      paymentId: p.id,
      body: step.body,
      phase,
      status: 0,
    }
    const options = this.callOptions(key)
    const call =
      step.kind === 'refund'
        ? this.meridian.refunds.create(p.id, step.body, options)
        : step.kind === 'capture'
          ? this.meridian.payments.capture(p.id, step.body, options)
          : this.meridian.payments.cancel(p.id, step.body, options)
    // A refusal (409 for the payment's state, 400 over the amount) is an answer too; the checker
    // reads only the final status, and a call given up on keeps its last attempt's.
    const answer = await call.catch(() => undefined)
    const heard = this.heardOf(key)
    record.status = answer?.lastResponse.status ?? heard.status
    const region = answer?.lastResponse.region ?? heard.region
    if (region) record.region = region
    if (answer && step.kind === 'refund' && typeof answer.id === 'string')
      record.refundId = answer.id
    this.records.push(record)
  }

  /** As a merchant sends an operation: its own key, again and again for up to a minute. */
  private callOptions(key: string): RequestOptions {
    const giveUp = new AbortController()
    this.calls.set(key, { startedMs: Date.now(), giveUp })
    return { idempotencyKey: key, signal: giveUp.signal }
  }

  /** Keep what the merchant heard; past a minute, give up instead of retrying (never mid-attempt). */
  private attempted(a: AttemptInfo): void {
    const key = a.idempotencyKey ?? ''
    this.heard.set(key, { status: a.status, region: a.region })
    const call = this.calls.get(key)
    if (a.retryInMs === undefined) this.calls.delete(key)
    else if (call && Date.now() - call.startedMs > retry.giveUpAfterMs) call.giveUp.abort()
  }

  private heardOf(key: string): Heard {
    return this.heard.get(key) ?? { status: 0, region: undefined }
  }
}
