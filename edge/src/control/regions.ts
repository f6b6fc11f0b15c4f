import { edgeSignatureHeader, fleet, signEdgeRequest } from '@meridian/core'
import { type Env, settingsOf } from '../env.ts'

/**
 * The control plane's calls to a region's internal API (regions/src/api/internal.ts), signed with
 * the edge's secret like a merchant request. The edge forwards only /v1/* for merchants, so a
 * signed /internal/* path can only come from here.
 */
export interface RegionCall {
  readonly region: string
  readonly method: 'GET' | 'PUT' | 'POST'
  readonly path: string
  readonly body?: unknown
  /** The merchant the call is about (`mer_control` when none) and the epoch it concerns. */
  readonly merchantId?: string
  readonly epoch?: number
}

export type RegionAnswer =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  | { readonly ok: false; readonly status?: number; readonly detail: string }

/** A fence waits for the region's open transactions: give it longer than a merchant request. */
export const internalCallTimeoutMs = 15_000

export function regionOrigin(env: Env, region: string): string | undefined {
  return (
    settingsOf(env).regionOrigins?.[region] ?? fleet.regions.find((r) => r.id === region)?.origin
  )
}

export async function callRegion(env: Env, call: RegionCall): Promise<RegionAnswer> {
  const origin = regionOrigin(env, call.region)
  if (!origin) return { ok: false, detail: `no origin for ${call.region}` }
  const body = call.body === undefined ? '' : JSON.stringify(call.body)
  const headers = new Headers({ 'content-type': 'application/json' })
  headers.set(
    edgeSignatureHeader,
    await signEdgeRequest(settingsOf(env).edgeSecret, {
      method: call.method,
      path: call.path,
      merchantId: call.merchantId ?? 'mer_control',
      epoch: call.epoch ?? 0,
      region: call.region,
      body,
    }),
  )
  try {
    const res = await fetch(`${origin}${call.path}`, {
      method: call.method,
      headers,
      ...(body ? { body } : {}),
      signal: AbortSignal.timeout(internalCallTimeoutMs),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // Not JSON (a proxy's page): keep the text for the operator to read.
    }
    if (!res.ok) return { ok: false, status: res.status, detail: summary(res.status, parsed) }
    return { ok: true, status: res.status, body: parsed }
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) }
  }
}

function summary(status: number, body: unknown): string {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error
  return error ? `HTTP ${status} ${error.code}: ${error.message}` : `HTTP ${status}`
}
