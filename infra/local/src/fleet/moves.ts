import type { OperatorClient } from './client.ts'

/** The operator API's move, as the CLI reads it (edge/src/control/types.ts MoveView). */
export interface Move {
  readonly merchantId: string
  readonly from: string
  readonly to: string
  readonly fromEpoch: number
  readonly toEpoch: number
  readonly state: 'fencing' | 'draining' | 'publishing' | 'done'
  readonly pending: readonly string[]
  readonly startedMs: number
  readonly finishedMs?: number
}

export interface MoveOutcome {
  readonly merchantId: string
  readonly to: string
  /** Already homed there: nothing moved. */
  readonly alreadyHome: boolean
  readonly move?: Move
  /** How long each state lasted as this CLI saw it (a resumed move counts from the resume). */
  readonly phasesMs: Readonly<Record<string, number>>
}

/** Between steps that made no progress: replication usually catches up within this. */
export const moveStepPauseMs = 200

/**
 * A move that did not reach `done` within its time: where it stopped and what it waited for. The
 * move stays in the control plane; running the same move again resumes it.
 */
export class MoveTimeoutError extends Error {
  override readonly name = 'MoveTimeoutError'
  constructor(
    readonly move: Move,
    readonly timeoutMs: number,
  ) {
    super(
      `moving ${move.merchantId} ${move.from} → ${move.to} (epoch ${move.fromEpoch} → ${move.toEpoch}) did not finish within ${timeoutMs} ms: still ${move.state}${move.pending.length ? ` (${move.pending.join('; ')})` : ''}`,
    )
  }
}

/**
 * Start (or resume) moving `merchantId` to `to` and step it to the end, reporting each change of
 * state and each new thing it waits for. Safe to run again after a crash: the control plane keeps
 * the move, and starting the same move returns it where it stopped. With `timeoutMs` it stops
 * stepping after that long and throws MoveTimeoutError; each call is bounded by
 * operatorCallTimeoutMs, so it returns or throws within timeoutMs + operatorCallTimeoutMs.
 */
export async function runMove(
  client: OperatorClient,
  merchantId: string,
  to: string,
  report: (line: string) => void,
  limits: { readonly timeoutMs?: number } = {},
): Promise<MoveOutcome> {
  const begunMs = Date.now()
  const started = await client.call<{ move?: Move; alreadyHome: boolean }>('POST', '/moves', {
    merchantId,
    to,
  })
  if (started.alreadyHome || !started.move) {
    report(`${merchantId} is homed in ${to} already: nothing to move`)
    return { merchantId, to, alreadyHome: true, phasesMs: {} }
  }
  let move = started.move
  const resumed = move.state !== 'fencing' || Date.now() - move.startedMs > 5_000
  report(
    `${resumed ? 'resuming' : 'moving'} ${merchantId} ${move.from} → ${move.to} (epoch ${move.fromEpoch} → ${move.toEpoch}), at ${move.state}`,
  )
  const phasesMs: Record<string, number> = {}
  let phaseStart = Date.now()
  let lastPending = ''
  while (move.state !== 'done') {
    if (limits.timeoutMs !== undefined && Date.now() - begunMs > limits.timeoutMs)
      throw new MoveTimeoutError(move, limits.timeoutMs)
    const before = move.state
    move = await client.call<Move>('POST', `/moves/${merchantId}/step`)
    if (move.state !== before) {
      phasesMs[before] = (phasesMs[before] ?? 0) + Date.now() - phaseStart
      phaseStart = Date.now()
      report(`  ${before} done → ${move.state}`)
      lastPending = ''
      continue
    }
    const pending = move.pending.join('; ')
    if (pending !== lastPending) report(`  ${move.state}: ${pending}`)
    lastPending = pending
    await new Promise((r) => setTimeout(r, moveStepPauseMs))
  }
  const took = (move.finishedMs ?? Date.now()) - move.startedMs
  report(
    `moved ${merchantId} to ${move.to} at epoch ${move.toEpoch} in ${took} ms (${Object.entries(
      phasesMs,
    )
      .map(([p, ms]) => `${p} ${ms} ms`)
      .join(', ')})${move.pending.length ? `; ${move.pending.join('; ')}` : ''}`,
  )
  return { merchantId, to, alreadyHome: false, move, phasesMs }
}
