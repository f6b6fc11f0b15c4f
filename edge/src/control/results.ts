import { MeridianError, placementSchema } from '@meridian/core'
import type { MoveView, Result } from './types.ts'

export type Row = Record<string, SqlStorageValue>

export function fail(error: MeridianError): Result<never> {
  return {
    ok: false,
    error: {
      kind: error.kind,
      code: error.code,
      message: error.message,
      ...(error.param ? { param: error.param } : {}),
      ...(error.retryAfterSec ? { retryAfterSec: error.retryAfterSec } : {}),
    },
  }
}

/** Run `work`, turning the MeridianErrors it throws into data that survives RPC. */
export async function guarded<T>(work: () => T | Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    if (error instanceof MeridianError) return fail(error)
    throw error
  }
}

export function notFound(what: string, id: string): MeridianError {
  return new MeridianError({
    kind: 'not_found',
    code: 'resource_missing',
    message: `No ${what} ${id}.`,
  })
}

export function moveView(r: Row): MoveView {
  const target = placementSchema.parse(JSON.parse(String(r.target)))
  return {
    id: Number(r.id),
    merchantId: String(r.merchant_id),
    from: String(r.from_region),
    to: String(r.to_region),
    fromEpoch: Number(r.from_epoch),
    toEpoch: target.epoch,
    state: String(r.state) as MoveView['state'],
    markers: JSON.parse(String(r.markers)) as Record<string, string>,
    pending: JSON.parse(String(r.pending)) as string[],
    startedMs: Number(r.started_ms),
    updatedMs: Number(r.updated_ms),
    ...(r.finished_ms === null ? {} : { finishedMs: Number(r.finished_ms) }),
  }
}
