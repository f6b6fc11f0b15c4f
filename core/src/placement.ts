import { z } from 'zod'
import { MeridianError } from './errors.ts'
import { canonicalJson } from './idempotency.ts'
import {
  merchantIdSchema,
  type RegionId,
  type RegionRegistry,
  regionIdSchema,
  routeOrder,
} from './registry.ts'

/**
 * Where a merchant lives: runtime data, changed through the operator API (never a deploy). The
 * edge routes by it (from KV), every region holds it (merchant_placements, replicated), and its
 * `epoch` fences writes: a region refuses a write routed by an older epoch than the one it knows
 * for that merchant, and, while a planned move runs, every write routed by the epoch being left.
 */
export const residencies = ['global', 'us', 'eu', 'in'] as const
export const residencySchema = z.enum(residencies)
export type Residency = z.infer<typeof residencySchema>

/** Epochs are Postgres integers in the regions. */
export const epochMax = 2 ** 31 - 1

export const placementSchema = z.strictObject({
  merchantId: merchantIdSchema,
  home: regionIdSchema,
  /** Regions to try, in order, when the home region is down; all within the residency. */
  failover: z.array(regionIdSchema),
  residency: residencySchema,
  /** Bumped by every planned move; the edge signs it into every request it routes. */
  epoch: z.number().int().positive().max(epochMax),
  /**
   * The one region that may send this merchant's authorizations without first agreeing on the
   * processor (regions/src/workflow/flow.ts): fixed when the merchant is created and never moved,
   * so a move can never leave two regions each believing it alone sends unasked.
   */
  processingHome: regionIdSchema,
})
export type Placement = z.infer<typeof placementSchema>

/** Whether a region may hold data of a merchant with this residency. */
export function allowedIn(
  registry: RegionRegistry,
  residency: Residency,
  region: RegionId,
): boolean {
  const found = registry.regions.find((r) => r.id === region)
  return found !== undefined && (residency === 'global' || found.jurisdiction === residency)
}

/** The regions a merchant may live in, in registry order. */
export function regionsFor(registry: RegionRegistry, residency: Residency): RegionId[] {
  return registry.regions.map((r) => r.id).filter((id) => allowedIn(registry, residency, id))
}

/** Why a placement cannot be used with this registry, or undefined when it can. */
export function placementProblem(registry: RegionRegistry, p: Placement): string | undefined {
  const order = routeOf(p)
  const known = registry.regions.map((r) => r.id)
  const unknown = [...order, p.processingHome].find((r) => !known.includes(r))
  if (unknown) return `${p.merchantId} names an unknown region ${unknown}`
  if (new Set(order).size !== order.length) return `${p.merchantId} lists a region twice`
  const outside = order.find((r) => !allowedIn(registry, p.residency, r))
  if (outside)
    return `${p.merchantId} has residency ${p.residency}; ${outside} is outside it (allowed: ${regionsFor(registry, p.residency).join(', ') || 'none'})`
  return undefined
}

export function routeOf(p: Pick<Placement, 'home' | 'failover'>): RegionId[] {
  return [p.home, ...p.failover]
}

/** The failover order for a home: the other allowed regions, in registry order after the home. */
function failoverFor(registry: RegionRegistry, residency: Residency, home: RegionId): RegionId[] {
  const ids = regionsFor(registry, residency)
  const at = ids.indexOf(home)
  return [...ids.slice(at + 1), ...ids.slice(0, Math.max(0, at))]
}

function refused(message: string): MeridianError {
  return new MeridianError({
    kind: 'invalid_request',
    code: 'placement_invalid',
    message,
    param: 'home',
  })
}

/** A new merchant's placement at epoch 1; refused (400) when it breaks the residency. */
export function newPlacement(
  registry: RegionRegistry,
  input: { merchantId: string; home: RegionId; residency: Residency },
): Placement {
  const placement: Placement = {
    merchantId: input.merchantId,
    home: input.home,
    failover: failoverFor(registry, input.residency, input.home),
    residency: input.residency,
    epoch: 1,
    processingHome: input.home,
  }
  const problem = placementProblem(registry, placement)
  if (problem) throw refused(problem)
  return placement
}

/** The placement after a planned move to `to`: the next epoch, failover in registry order after it. */
export function movedPlacement(registry: RegionRegistry, from: Placement, to: RegionId): Placement {
  const moved: Placement = {
    ...from,
    home: to,
    failover: failoverFor(registry, from.residency, to),
    epoch: from.epoch + 1,
  }
  const problem = placementProblem(registry, moved)
  if (problem) throw refused(problem)
  return moved
}

/**
 * The route of a merchant the edge has no placement for (its KV copy not there yet): by hash,
 * epoch 1. A region that knows the real placement still fences and refuses what it must.
 */
export function defaultPlacement(registry: RegionRegistry, merchantId: string): Placement {
  const [home, ...failover] = routeOrder(registry, merchantId)
  if (!home) throw new Error('the registry has no regions')
  return { merchantId, home, failover, residency: 'global', epoch: 1, processingHome: home }
}

/**
 * The merge of two copies of one merchant's placement (a join: commutative, associative,
 * idempotent): the higher epoch wins; one epoch is assigned once by the control plane, so a tie
 * is the same placement (broken by canonical text all the same). `processingHome` is write-once.
 */
export function joinPlacements(a: Placement, b: Placement): Placement {
  const winner =
    a.epoch !== b.epoch ? (a.epoch > b.epoch ? a : b) : canonicalJson(a) >= canonicalJson(b) ? a : b
  const first = a.epoch <= b.epoch ? a : b
  return { ...winner, processingHome: first.processingHome }
}

/** What a region holds of a merchant's placement, for admitting writes. */
export interface PlacementFence {
  readonly epoch: number
  /** Writes routed by this epoch or older are refused: a planned move is leaving it. */
  readonly fencedEpoch: number
  readonly residency: Residency
}

export type WriteAdmission =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'moving' | 'stale' | 'residency' }

/**
 * Whether a region in `jurisdiction` may accept a merchant's write the edge routed by `epoch`.
 * A merchant the region holds no placement for is admitted (nothing to fence it by yet).
 */
export function admitWrite(
  known: PlacementFence | undefined,
  epoch: number,
  jurisdiction: string,
): WriteAdmission {
  if (!known) return { ok: true }
  if (known.residency !== 'global' && known.residency !== jurisdiction)
    return { ok: false, reason: 'residency' }
  if (epoch <= known.fencedEpoch) return { ok: false, reason: 'moving' }
  if (epoch < known.epoch) return { ok: false, reason: 'stale' }
  return { ok: true }
}

/** The answer to a refused write: the edge re-reads the placement on these and tries again. */
export function writeRefusal(reason: 'moving' | 'stale' | 'residency', merchantId: string) {
  if (reason === 'moving')
    return new MeridianError({
      kind: 'unavailable',
      code: 'merchant_moving',
      message: `${merchantId} is moving between regions; retry with the same Idempotency-Key.`,
      retryAfterSec: 1,
    })
  if (reason === 'stale')
    return new MeridianError({
      kind: 'conflict',
      code: 'placement_stale',
      message: `This request was routed by an older placement of ${merchantId}; retry with the same Idempotency-Key.`,
    })
  return new MeridianError({
    kind: 'permission',
    code: 'merchant_residency',
    message: `${merchantId}'s data may not be stored in this region.`,
  })
}
