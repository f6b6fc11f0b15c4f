import type { z } from 'zod'
import { type ErrorCode, errors, type MeridianError } from './errors.ts'
import { textError } from './text.ts'

/**
 * Turn the first zod issue into the public error: the parameter it concerns and a code a client
 * can branch on. Parameters with their own codes (amount, currency) get them.
 */
function toError(issue: z.core.$ZodIssue): MeridianError {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? ''
    const param = [...issue.path.map(String), key].join('.')
    return errors.invalidRequest(
      'parameter_unknown',
      `Received unknown parameter: ${param}.`,
      param,
    )
  }
  const param = issue.path.map(String).join('.')
  const missing = issue.code === 'invalid_type' && issue.input === undefined
  if (missing) {
    return errors.invalidRequest('parameter_missing', `Missing required param: ${param}.`, param)
  }
  const root = String(issue.path[0] ?? '')
  const code: ErrorCode =
    root === 'amount'
      ? 'amount_invalid'
      : root === 'currency'
        ? 'currency_invalid'
        : 'parameter_invalid'
  const where = param === '' ? 'request body' : param
  return errors.invalidRequest(code, `Invalid ${where}: ${issue.message}.`, param || undefined)
}

export type ParseOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: MeridianError }

/**
 * Where a parsed JSON body carries `__proto__` as a key (`metadata.__proto__`), if anywhere. JSON
 * allows it, but copying it into an object sets the prototype instead of a key, so a validator
 * drops it silently and it could never be stored as sent (the fuzzer found it vanish).
 */
export function protoKeyPath(value: unknown, path = ''): string | undefined {
  if (value === null || typeof value !== 'object') return undefined
  for (const key of Object.keys(value)) {
    const at = path ? `${path}.${key}` : key
    if (key === '__proto__') return at
    const found = protoKeyPath((value as Record<string, unknown>)[key], at)
    if (found) return found
  }
  return undefined
}

export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
): ParseOutcome<z.output<S>> {
  const proto = protoKeyPath(input)
  if (proto)
    return {
      ok: false,
      error: errors.invalidRequest(
        'parameter_invalid',
        `${proto}: __proto__ is not accepted as a key.`,
        proto,
      ),
    }
  // reportInput: telling "missing" (undefined) from "wrong type" needs the offending value.
  const result = schema.safeParse(input, { reportInput: true })
  if (result.success) return { ok: true, value: result.data }
  const [first] = result.error.issues
  return {
    ok: false,
    error: first ? toError(first) : errors.invalidRequest('parameter_invalid', 'Invalid request.'),
  }
}

/** Request bodies larger than this are refused (413) by the edge and again by the region. */
export const bodyBytesMax = 16 * 1024

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Request bytes as text. JSON is UTF-8 (RFC 8259): bytes that are not are refused, never
 * replaced with U+FFFD, which would store something the merchant did not send.
 */
export function decodeUtf8(bytes: Uint8Array): ParseOutcome<string> {
  try {
    return { ok: true, value: strictUtf8.decode(bytes) }
  } catch {
    return {
      ok: false,
      error: errors.invalidRequest('body_invalid_json', 'The request body is not valid UTF-8.'),
    }
  }
}

/**
 * Parse request text as a JSON object whose every string is storable text (see text.ts);
 * anything else is a 400 naming the problem and the parameter.
 */
export function parseJsonObject(text: string): ParseOutcome<Record<string, unknown>> {
  if (text.trim() === '') return { ok: true, value: {} }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return {
      ok: false,
      error: errors.invalidRequest('body_invalid_json', 'The request body is not valid JSON.'),
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: errors.invalidRequest('body_invalid_json', 'The request body must be a JSON object.'),
    }
  }
  const bad = textError(value)
  if (bad) return { ok: false, error: bad }
  return { ok: true, value: value as Record<string, unknown> }
}
