import { OperatorApiError, OperatorClient, operatorCallTimeoutMs } from '../fleet/client.ts'
import { MoveTimeoutError, runMove } from '../fleet/moves.ts'
import type { Acknowledged } from './load.ts'
import type { DrillTopology } from './topology.ts'

/**
 * The `evacuate` scenario's fault and heal: what `pnpm fleet evacuate <region>` and
 * `pnpm fleet restore <region>` do (ask the operator API for the plan, run every move of it to
 * the end with runMove), with each move bounded and timed for the report.
 */

/**
 * One planned move's bound in a drill. A local move takes about a second (fence, replication
 * catching up to the fence markers, publish); one that has not finished by then fails the drill
 * rather than hold it. runMove gives up within this plus one call's operatorCallTimeoutMs.
 */
export const moveTimeoutMs = 30_000

export type PlanAction = 'evacuate' | 'restore'

/** One finished move as the report shows it. */
export interface MoveRecord {
  readonly merchantId: string
  readonly from: string
  readonly to: string
  readonly fromEpoch: number
  readonly toEpoch: number
  /** Start (fencing) → done (published), as the control plane timed it. */
  readonly ms: number
  /** fencing, draining and publishing as runMove saw them. */
  readonly phasesMs: Readonly<Record<string, number>>
  readonly startedMs: number
  readonly finishedMs: number
  /** When runMove returned, on the drill's clock: the latest the new placement can be unknown. */
  readonly returnedMs: number
  /**
   * Payments of the merchant acknowledged by another region before the move was published (so
   * under the epoch it left) that the new home did not hold right after: the drain's promise
   * broken. Must be 0; replication may deliver them later, which the checker alone would accept.
   */
  readonly missingAtHandover: number
}

/** An evacuation or a restore: its plan and what became of each move. */
export interface PlanRun {
  readonly action: PlanAction
  readonly region: string
  readonly startedMs: number
  finishedMs: number
  readonly moves: MoveRecord[]
  /** Merchants the plan left where they are, and why. */
  readonly skipped: { readonly merchantId: string; readonly reason: string }[]
  /** Moves (or the plan itself) that did not complete: each one fails the drill. */
  readonly failures: string[]
}

type Plan = readonly (
  | { merchantId: string; to: string }
  | { merchantId: string; skipped: string }
)[]

/** Why a call or a move failed, in the words an operator would search for. */
function describe(error: unknown): string {
  if (error instanceof MoveTimeoutError)
    return `${error.message} (moveTimeoutMs; the move stays in the control plane at ${error.move.state})`
  if (error instanceof Error && error.name === 'TimeoutError')
    return `an operator API call got no answer within operatorCallTimeoutMs (${operatorCallTimeoutMs} ms)`
  if (error instanceof OperatorApiError)
    return `the operator API answered ${error.status} ${error.code}: ${error.message}`
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

/**
 * Ask for the region's evacuation or restore plan and run its moves one after the other (one at a
 * time, so each move's time is its own, not shared with the others'). Never throws: a failure is
 * recorded in `failures` and the next move still runs, so the drill goes on to heal and check.
 */
export async function runRegionPlan(
  topology: DrillTopology,
  action: PlanAction,
  region: string,
  acknowledged: readonly Acknowledged[],
  log: (line: string) => void,
): Promise<PlanRun> {
  const client = new OperatorClient({
    edgeUrl: topology.edgeUrl,
    operatorKey: topology.operatorKey,
  })
  const run: PlanRun = {
    action,
    region,
    startedMs: Date.now(),
    finishedMs: Date.now(),
    moves: [],
    skipped: [],
    failures: [],
  }
  let plan: Plan
  try {
    plan = (await client.call<{ plan: Plan }>('POST', `/regions/${region}/${action}`)).plan
  } catch (error) {
    run.failures.push(`${action} ${region}: no plan: ${describe(error)}`)
    run.finishedMs = Date.now()
    return run
  }
  log(`${action} ${region}: ${plan.length} merchant(s) in the plan`)
  for (const step of plan) {
    if ('skipped' in step) {
      run.skipped.push({ merchantId: step.merchantId, reason: step.skipped })
      log(`${action} ${region}: skipped ${step.merchantId}: ${step.skipped}`)
      continue
    }
    const m = step.merchantId
    let lastProgress = 'not started'
    const progress = (line: string) => {
      lastProgress = line.trim()
      log(`${action} [${m}] ${line}`)
    }
    try {
      const outcome = await runMove(client, m, step.to, progress, { timeoutMs: moveTimeoutMs })
      const move = outcome.move
      if (outcome.alreadyHome || !move) {
        run.skipped.push({ merchantId: m, reason: `already homed in ${step.to}` })
        continue
      }
      const finishedMs = move.finishedMs ?? Date.now()
      const returnedMs = Date.now()
      const missing = await missingAtHandover(topology, acknowledged, m, move.to, finishedMs)
      if (missing.length > 0)
        run.failures.push(
          `${action} ${region}: ${m} ${move.from} → ${move.to}: ${missing.length} payment(s) acknowledged under epoch ${move.fromEpoch} were not in ${move.to} when it took over (${missing.slice(0, 3).join(', ')}): the move published before the drain`,
        )
      run.moves.push({
        merchantId: m,
        from: move.from,
        to: move.to,
        fromEpoch: move.fromEpoch,
        toEpoch: move.toEpoch,
        ms: finishedMs - move.startedMs,
        phasesMs: outcome.phasesMs,
        startedMs: move.startedMs,
        finishedMs,
        returnedMs,
        missingAtHandover: missing.length,
      })
    } catch (error) {
      const failure = `${action} ${region}: ${m} → ${step.to} did not complete: ${describe(error)}; last progress: ${lastProgress}`
      run.failures.push(failure)
      log(failure)
    }
  }
  run.finishedMs = Date.now()
  return run
}

/**
 * The merchant's payments acknowledged by regions other than `to` up to the publish, absent from
 * `to`'s database now (just after the move returned). Any other region's acknowledgment before
 * the publish was under the epoch being left, since the edge cannot sign the next one before KV
 * has it; the drain is there to make the new home hold all of them before it takes writes.
 */
async function missingAtHandover(
  topology: DrillTopology,
  acknowledged: readonly Acknowledged[],
  merchantId: string,
  to: string,
  publishedMs: number,
): Promise<string[]> {
  const before = acknowledged.filter(
    (a) => a.merchantId === merchantId && a.region !== to && a.ackedAtMs <= publishedMs,
  )
  const pool = topology.pools[to]
  if (!pool) throw new Error(`no database pool for ${to}`)
  const { rows } = await pool.query<{ id: string }>('select id from payments where id = any($1)', [
    before.map((a) => a.paymentId),
  ])
  const present = new Set(rows.map((r) => r.id))
  return before.filter((a) => !present.has(a.paymentId)).map((a) => a.paymentId)
}

/**
 * Which regions were the merchant's home at `atMs`, given its home before the run and the moves
 * made since. While a move runs (its start to runMove's return) both its old and its new home
 * count: the old one finishes the writes it admitted before the fence, the new one takes writes as
 * soon as the edge reads the published epoch, and nobody else is admitted in between.
 */
export function homesAt(
  initialHome: string,
  moves: readonly MoveRecord[],
  merchantId: string,
  atMs: number,
): readonly string[] {
  let home = initialHome
  const mine = moves.filter((m) => m.merchantId === merchantId)
  for (const move of [...mine].sort((a, b) => a.startedMs - b.startedMs)) {
    if (atMs < move.startedMs) break
    if (atMs <= Math.max(move.finishedMs, move.returnedMs)) return [move.from, move.to]
    home = move.to
  }
  return [home]
}
