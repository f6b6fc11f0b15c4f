import { errors, type MeridianError } from './errors.ts'

/**
 * What "text" means at the API's edge. JSON can carry any UTF-16 code unit, but what we store
 * (PostgreSQL text and jsonb, Kafka records, webhook bodies) is UTF-8 without NUL: a NUL makes
 * PostgreSQL refuse the row, and a lone surrogate would silently become U+FFFD on the way in, so
 * the merchant would read back something other than what it sent. Such text is refused up
 * front, naming the parameter; everything else is stored exactly as sent.
 */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'text may not contain the NUL character (U+0000)'
  if (loneSurrogate.test(text))
    return 'text must be well-formed Unicode (it contains a lone surrogate)'
  return undefined
}

/**
 * No request of the API nests deeper than metadata (2 levels); a body nested deeper than this
 * is refused before anything walks it recursively (fingerprints, schemas).
 */
export const jsonDepthMax = 16

/**
 * The first problem of a parsed JSON value that the API would not store faithfully: a string
 * (value or key) that is not storable text, or nesting beyond jsonDepthMax.
 */
export function textError(value: unknown, root = ''): MeridianError | undefined {
  // Iterative: a hostile body nests thousands deep, and recursion would spend the stack on it.
  const stack: [unknown, string, number][] = [[value, root, 0]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, path, depth] = next
    if (depth > jsonDepthMax && typeof v === 'object' && v !== null)
      // Named by its top-level parameter: the full path would be thousands of segments long.
      return invalid(path.split('.')[0] ?? '', `it nests deeper than ${jsonDepthMax} levels`)
    if (typeof v === 'string') {
      const problem = textProblem(v)
      if (problem) return invalid(path, problem)
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        stack.push([item, join(path, String(i)), depth + 1])
      })
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, item] of Object.entries(v)) {
        const problem = textProblem(key)
        if (problem) return invalid(path, `a parameter name in it is not storable: ${problem}`)
        stack.push([item, join(path, key), depth + 1])
      }
    }
  }
  return undefined
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function invalid(path: string, problem: string): MeridianError {
  const where = path === '' ? 'request body' : path
  return errors.invalidRequest(
    'parameter_invalid',
    `Invalid ${where}: ${problem}.`,
    path === '' ? undefined : path,
  )
}
