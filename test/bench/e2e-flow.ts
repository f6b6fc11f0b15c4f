/**
 * One payment's life through the public API as a merchant using manual capture drives it: create,
 * wait until the processor authorized it, capture, wait until captured, refund. Capture and refund
 * are refused (409) until the asynchronous step before them has finished, so the waits are part
 * of the flow; they are timed on their own and never counted in the next request's latency.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Pool } from 'undici'

/** What the bench reports, in the order it reports them. */
export const stepNames = [
  'create',
  'create → authorized',
  'capture',
  'capture → captured',
  'refund',
  'retrieve (the waits’ polls)',
] as const
export type StepName = (typeof stepNames)[number]

/** What a step took and how it ended: `202`, `409 payment_invalid_state`, `no answer`, … */
export interface Step {
  readonly name: StepName
  readonly ms: number
  readonly outcome: string
}

/** The outcome that counts as success, per step. */
export const successOf: Readonly<Record<StepName, string>> = {
  create: '202',
  'create → authorized': 'authorized',
  capture: '202',
  'capture → captured': 'captured',
  refund: '202',
  'retrieve (the waits’ polls)': '200',
}

export interface FlowOptions {
  readonly apiKey: string
  /** Tag on every Idempotency-Key and in the payment's metadata. */
  readonly runId: string
  /** A wait first looks this long after the request that started it, then every `pollMs`. */
  readonly pollFirstMs: number
  readonly pollMs: number
  /** A wait that sees no progress for this long ends as an error (`still pending`). */
  readonly waitMsMax: number
  readonly requestTimeoutMs: number
}

/** Statuses after which waiting for `authorized` or `captured` is pointless. */
const dead = new Set(['declined', 'failed', 'canceled', 'expired', 'refunded'])

interface Answer {
  readonly step: Step
  readonly body: Record<string, unknown> | undefined
}

async function call(
  client: Pool,
  o: FlowOptions,
  step: StepName,
  from: number,
  request: { method: 'GET' | 'POST'; path: string; idempotencyKey?: string; body?: unknown },
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${o.apiKey}` }
  if (request.idempotencyKey) headers['idempotency-key'] = request.idempotencyKey
  if (request.body !== undefined) headers['content-type'] = 'application/json'
  try {
    const res = await client.request({
      method: request.method,
      path: request.path,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      headersTimeout: o.requestTimeoutMs,
      bodyTimeout: o.requestTimeoutMs,
    })
    const text = await res.body.text()
    const ms = performance.now() - from
    const body = parseObject(text)
    const code = (body?.error as { code?: unknown } | undefined)?.code
    const outcome = typeof code === 'string' ? `${res.statusCode} ${code}` : `${res.statusCode}`
    return { step: { name: step, ms, outcome }, body }
  } catch (error) {
    const cause = (error as { code?: unknown }).code
    const outcome = `no answer (${typeof cause === 'string' ? cause : String(error)})`
    return { step: { name: step, ms: performance.now() - from, outcome }, body: undefined }
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Poll the payment until it reaches `wanted`; every poll is a step of its own too. */
async function waitFor(
  client: Pool,
  o: FlowOptions,
  paymentId: string,
  wanted: 'authorized' | 'captured' | 'refunded',
  steps: Step[],
): Promise<{ ms: number; outcome: string }> {
  const from = performance.now()
  await sleep(o.pollFirstMs)
  for (;;) {
    const polled = performance.now()
    const got = await call(client, o, 'retrieve (the waits’ polls)', polled, {
      method: 'GET',
      path: `/v1/payments/${paymentId}`,
    })
    steps.push(got.step)
    const status = typeof got.body?.status === 'string' ? got.body.status : undefined
    const ms = performance.now() - from
    if (status === wanted) return { ms, outcome: wanted }
    if (status !== undefined && dead.has(status)) return { ms, outcome: status }
    if (ms > o.waitMsMax) return { ms, outcome: `still ${status ?? got.step.outcome}` }
    await sleep(o.pollMs)
  }
}

/**
 * Payment `i`, started at `scheduledAt` (its slot in the open loop: create's latency counts from
 * there). Each later request starts the moment the wait before it saw the status it needs.
 */
export async function paymentFlow(
  client: Pool,
  o: FlowOptions,
  i: number,
  scheduledAt: number,
): Promise<{ steps: Step[]; paymentId?: string }> {
  const steps: Step[] = []
  const key = `${o.runId}-${i}`
  const created = await call(client, o, 'create', scheduledAt, {
    method: 'POST',
    path: '/v1/payments',
    idempotencyKey: `${key}-create`,
    body: {
      amount: 1000 + (i % 9000),
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      metadata: { bench_run: o.runId },
    },
  })
  steps.push(created.step)
  const id = typeof created.body?.id === 'string' ? created.body.id : undefined
  if (created.step.outcome !== successOf.create || !id) return { steps }
  for (const [wait, wanted, next] of [
    ['create → authorized', 'authorized', 'capture'],
    ['capture → captured', 'captured', 'refund'],
  ] as const) {
    const waited = await waitFor(client, o, id, wanted, steps)
    steps.push({ name: wait, ...waited })
    if (waited.outcome !== wanted) return { steps, paymentId: id }
    const answer = await call(client, o, next, performance.now(), {
      method: 'POST',
      path: `/v1/payments/${id}/${next === 'capture' ? 'capture' : 'refunds'}`,
      idempotencyKey: `${key}-${next}`,
      body: {},
    })
    steps.push(answer.step)
    if (answer.step.outcome !== successOf[next]) return { steps, paymentId: id }
  }
  return { steps, paymentId: id }
}

/**
 * Open loop: payment i starts at i / rate seconds whatever the gateway does, so a slow answer
 * cannot delay the next payment and hide its queueing (no coordinated omission). Resolves when
 * every payment's flow has ended, then waits (bounded) until the last refund has gone through the
 * processor, so the work a payment causes falls inside the measured window.
 */
export async function openLoopPayments(
  client: Pool,
  o: FlowOptions,
  ratePerSec: number,
  seconds: number,
): Promise<{ steps: Step[]; payments: number; durationSec: number }> {
  const total = Math.floor(ratePerSec * seconds)
  const flows: Promise<{ steps: Step[]; paymentId?: string }>[] = []
  const start = performance.now()
  for (let i = 0; i < total; i++) {
    const scheduledAt = start + (i * 1000) / ratePerSec
    // Timers tick in whole milliseconds; a payment started late still counts from its slot.
    const wait = scheduledAt - performance.now()
    if (wait >= 1) await sleep(wait)
    flows.push(paymentFlow(client, o, i, scheduledAt))
  }
  const ended = await Promise.all(flows)
  const steps = ended.flatMap((f) => f.steps)
  const last = ended.findLast((f) => f.steps.at(-1)?.name === 'refund')?.paymentId
  if (last) await waitFor(client, o, last, 'refunded', [])
  return { steps, payments: total, durationSec: (performance.now() - start) / 1000 }
}
