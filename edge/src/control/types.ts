import type { ErrorCode, ErrorKind, Placement } from '@meridian/core'
import type { Env } from '../env.ts'

/** What crosses the Durable Object's RPC boundary: plain data, errors included. */
export interface ControlError {
  readonly kind: ErrorKind
  readonly code: ErrorCode
  readonly message: string
  readonly param?: string
  readonly retryAfterSec?: number
}

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ControlError }

export interface Operator {
  readonly id: string
  readonly name: string
}

export interface KeyView {
  readonly id: string
  readonly merchantId: string
  readonly mode: 'test' | 'live'
  readonly status: 'active' | 'revoked'
  /** The key's last four characters, to tell keys apart; the key itself is never kept. */
  readonly last4: string
  readonly createdMs: number
  /** A rolled key keeps working until then. */
  readonly expiresAtMs?: number
}

/** A key as created: the secret is shown this once. */
export interface NewKey extends KeyView {
  readonly secret: string
}

export type MoveState = 'fencing' | 'draining' | 'publishing' | 'done'

export interface MoveView {
  readonly id: number
  readonly merchantId: string
  readonly from: string
  readonly to: string
  readonly fromEpoch: number
  readonly toEpoch: number
  readonly state: MoveState
  /** Region → the marker event its fence wrote. */
  readonly markers: Readonly<Record<string, string>>
  /** What the move waits for now, in words an operator reads. */
  readonly pending: readonly string[]
  readonly startedMs: number
  readonly updatedMs: number
  readonly finishedMs?: number
}

export interface MerchantView {
  readonly id: string
  readonly name: string
  readonly placement: Placement
  readonly createdMs: number
  readonly move?: MoveView
}

export interface AuditEntry {
  readonly seq: number
  readonly atMs: number
  readonly operator: string
  readonly action: string
  readonly target: string
  readonly detail: unknown
}

export type EvacuationPlan = readonly (
  | { readonly merchantId: string; readonly to: string }
  | { readonly merchantId: string; readonly skipped: string }
)[]

/** What moves.ts needs of the control plane (FleetControl implements it). */
export interface ControlStore {
  readonly sql: SqlStorage
  readonly bindings: Env
  rows(query: string, ...bindings: SqlStorageValue[]): Record<string, SqlStorageValue>[]
  audit(operator: Operator, action: string, target: string, detail?: unknown): void
  merchant(id: string): MerchantView | undefined
  activeMove(merchantId: string): MoveView | undefined
  pushPlacement(placement: Placement, firstRegion?: string): Promise<string[]>
}
