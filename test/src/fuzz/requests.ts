import { buildOpenApi } from '@meridian/core'
import fc from 'fast-check'

/**
 * Requests generated from the OpenAPI document: valid ones, ones at the boundaries, and hostile
 * ones (wrong types, huge and fractional numbers, deep nesting, odd Unicode incl. NUL and lone
 * surrogates, duplicate keys, bytes that are not UTF-8, giant bodies, odd methods, paths, queries
 * and keys). One generator serves every target: a region behind the edge signature, the edge.
 */
export interface FuzzRequest {
  readonly method: string
  /** Path and query as sent (already percent-encoded where it must be). */
  readonly path: string
  /** Body bytes exactly as sent; empty for none. */
  readonly body: Uint8Array
  readonly idempotencyKey?: string
  /** What the generator did, for the failure report. */
  readonly label: string
  /** The operation the request was derived from, e.g. `post /v1/payments`. */
  readonly operation: string
}

interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  propertyNames?: JsonSchema
  enum?: unknown[]
  pattern?: string
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  $ref?: string
}

interface Operation {
  readonly method: string
  readonly template: string
  readonly body?: JsonSchema
  readonly query: Record<string, JsonSchema>
  readonly idempotent: boolean
}

const document = buildOpenApi() as {
  paths: Record<string, Record<string, Record<string, unknown>>>
  components: { schemas: Record<string, JsonSchema> }
}

function resolve(s: JsonSchema): JsonSchema {
  if (!s.$ref) return s
  const name = s.$ref.split('/').at(-1) ?? ''
  const found = document.components.schemas[name]
  if (!found) throw new Error(`no schema ${s.$ref}`)
  return found
}

/** Every operation of the public API, read from the document rather than listed by hand. */
export const operations: readonly Operation[] = Object.entries(document.paths).flatMap(
  ([template, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const parameters = (op.parameters ?? []) as { name: string; in: string; schema: JsonSchema }[]
      const content = (op.requestBody as { content?: Record<string, { schema: JsonSchema }> })
        ?.content?.['application/json']?.schema
      return {
        method: method.toUpperCase(),
        template,
        ...(content ? { body: resolve(content) } : {}),
        query: Object.fromEntries(
          parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema]),
        ),
        idempotent: parameters.some((p) => p.name === 'Idempotency-Key'),
      }
    }),
)

const int32Max = 2 ** 31 - 1

/** A value the schema accepts, leaning to its boundaries. */
export function valid(schema: JsonSchema): fc.Arbitrary<unknown> {
  const s = resolve(schema)
  if (s.enum) return fc.constantFrom(...s.enum)
  switch (s.type) {
    case 'integer': {
      const min = s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : (s.minimum ?? 0)
      const max = s.maximum ?? int32Max
      return fc.oneof(
        fc.integer({ min, max: Math.min(max, int32Max) }),
        fc.constantFrom(min, max),
        fc.integer({ min, max: Math.min(max, min + 1000) }),
      )
    }
    case 'string': {
      if (s.format === 'uri')
        return fc.stringMatching(/^[a-z0-9]{1,20}$/).map((p) => `https://hooks.example.com/${p}`)
      if (s.pattern)
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((v) => v.length <= (s.maxLength ?? Number.POSITIVE_INFINITY))
      return fc.oneof(
        fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) }),
        fc.string({
          unit: 'grapheme',
          minLength: s.minLength ?? 0,
          maxLength: Math.min(s.maxLength ?? 20, 20),
        }),
        // At the limit, in characters a client counts differently from JS (astral code points).
        fc.constant('é'.repeat(s.maxLength ?? 64)),
      )
    }
    case 'array':
      return fc.array(valid(s.items ?? {}), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 3, 3),
      })
    case 'object': {
      const props = s.properties ?? {}
      const fixed = fc.record(
        Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valid(v)])),
        { requiredKeys: s.required ?? [] },
      )
      if (typeof s.additionalProperties !== 'object') return fixed
      return fc.dictionary(
        valid(
          s.propertyNames ?? { type: 'string', minLength: 1, maxLength: 40 },
        ) as fc.Arbitrary<string>,
        valid(s.additionalProperties),
        { maxKeys: 4 },
      )
    }
    default:
      return fc.constant(null)
  }
}

/** Strings that JSON carries but that a careless store mangles or refuses. */
export const oddStrings: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '\udbff\udbff',
    '\ufeff',
    '\u202eevil',
    '\uffff',
    '\u{10ffff}',
    '\u0001\u001f\u007f',
    'e\u0301',
    '👩‍👩‍👧‍👦',
    "'; drop table payments; --",
    '%00',
    '\\u0000',
    '\u0024{jndi:ldap://x}',
  ),
  // Any UTF-16 code unit, lone surrogates included.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) }),
  fc.string({ unit: 'binary', maxLength: 30 }),
)

function nested(depth: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v }
  return v
}

/** Values of the wrong type or out of range for whatever field they replace. */
export const hostileValues: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    -0,
    1.5,
    0.1,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 53 + 2,
    10_000_000_001,
    Number.MAX_SAFE_INTEGER,
    '100',
    '',
    [],
    {},
    [1, 2],
    { amount: 1 },
    'x'.repeat(20_000),
  ),
  fc.integer({ min: 1, max: 3000 }).map(nested),
  oddStrings,
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => Number(n)),
)

const encoder = new TextEncoder()

function withPath(template: string, id: string): string {
  return template.replace('{id}', id)
}

const ids: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'pay_0000000000000000000000000',
    'pay_x',
    '%00',
    'pay_%00',
    '%ED%A0%80',
    '%',
    '%zz',
    '..',
    '%2e%2e',
    'pay_%C3%A9',
    'a'.repeat(3000),
    'we_0000',
    '%F0%9F%92%B3',
  ),
  fc
    .string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((n) => String.fromCharCode(n)) })
    .map((s) => encodeURIComponent(s)),
  oddStrings.map((s) => {
    try {
      return encodeURIComponent(s)
    } catch {
      return '%ED%A0%80'
    }
  }),
)

const queries: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: 100 }).map((n) => `?limit=${n}`),
  fc.constantFrom(
    '?limit=0',
    '?limit=101',
    '?limit=-1',
    '?limit=1.5',
    '?limit=1e2',
    '?limit=0x10',
    '?limit=abc',
    '?limit=',
    '?limit=1&limit=2',
    '?limit=99999999999999999999999',
    '?starting_after=%00',
    '?starting_after=%',
    '?starting_after=%ED%A0%80',
    '?starting_after=pay_0000000000000000000000000',
    `?starting_after=${'a'.repeat(65)}`,
    '?unknown=1',
    '?limit[]=1',
    '?%00=1',
    `?${'a'.repeat(5000)}=1`,
  ),
  oddStrings.map((s) => {
    try {
      return `?starting_after=${encodeURIComponent(s)}`
    } catch {
      return '?starting_after=%ED%A0%80'
    }
  }),
)

/** Idempotency keys: valid ones, and ones no key may be (header-safe bytes only: fetch sends these). */
const keys: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.uuid().map((u) => `fuzz-${u}`) },
  fc.constantFrom(undefined, '', ' ', 'a b', 'k'.repeat(256), 'k'.repeat(255), 'é', '\u00ff\u0080'),
)

/** Turn a body value into JSON text, sometimes with a key written twice. */
function textOf(value: unknown, duplicateKey: boolean): string {
  const text = JSON.stringify(value) ?? 'null'
  if (!duplicateKey || typeof value !== 'object' || value === null || Array.isArray(value))
    return text
  const [first] = Object.keys(value)
  if (first === undefined) return text
  return `{${JSON.stringify(first)}:"duplicate",${text.slice(1)}`
}

type BodyShape = { value: unknown; mutation: string }

/** A body for an operation: valid, or valid with one hostile change. */
function bodies(schema: JsonSchema | undefined): fc.Arbitrary<BodyShape> {
  const base = schema ? valid(schema) : fc.constant({})
  const keyOf = (v: unknown) =>
    fc.constantFrom(...(typeof v === 'object' && v !== null ? Object.keys(v) : ['x']), 'x')
  return fc.oneof(
    { weight: 3, arbitrary: base.map((value) => ({ value, mutation: 'valid' })) },
    {
      weight: 3,
      arbitrary: base.chain((v) =>
        fc.tuple(keyOf(v), hostileValues).map(([k, bad]) => ({
          value: { ...(v as object), [k]: bad },
          mutation: `field ${k} hostile`,
        })),
      ),
    },
    {
      weight: 2,
      arbitrary: base.chain((v) =>
        fc.tuple(oddStrings, oddStrings).map(([k, val]) => ({
          value: { ...(v as object), metadata: { [k || 'k']: val }, description: val },
          mutation: 'odd text in metadata and description',
        })),
      ),
    },
    {
      weight: 1,
      arbitrary: base.chain((v) =>
        oddStrings.map((k) => ({
          value: { ...(v as object), [k]: 1 },
          mutation: 'odd unknown key',
        })),
      ),
    },
    {
      weight: 1,
      arbitrary: hostileValues.map((value) => ({ value, mutation: 'body not an object' })),
    },
  )
}

const rawBodies: fc.Arbitrary<{ bytes: Uint8Array; mutation: string }> = fc.oneof(
  fc.constantFrom(
    { bytes: new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]), mutation: 'not UTF-8' },
    {
      bytes: encoder.encode('{"description":"\\ud800"}'),
      mutation: 'escaped lone surrogate',
    },
    {
      bytes: new Uint8Array([...encoder.encode('{"description":"'), 0xed, 0xa0, 0x80, 0x22, 0x7d]),
      mutation: 'surrogate encoded as UTF-8 bytes (CESU)',
    },
    {
      bytes: new Uint8Array([...encoder.encode('{"description":"'), 0xc0, 0x80, 0x22, 0x7d]),
      mutation: 'overlong NUL',
    },
    { bytes: encoder.encode('{"a":'), mutation: 'truncated JSON' },
    { bytes: encoder.encode('{"amount":1}{"amount":2}'), mutation: 'two JSON documents' },
    { bytes: encoder.encode('\u0000'), mutation: 'NUL body' },
    { bytes: encoder.encode(`{"d":"${'x'.repeat(17 * 1024)}"}`), mutation: 'giant body' },
    { bytes: encoder.encode('['.repeat(100_000)), mutation: 'deeply nested arrays' },
    { bytes: encoder.encode('{"amount":1e999}'), mutation: 'number overflow' },
  ),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ bytes, mutation: 'random bytes' })),
)

const oddMethods = fc.constantFrom(
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'HEAD',
  'PROPFIND',
  'TRACE2',
)
const oddPaths = fc.constantFrom(
  '/v1',
  '/v1/',
  '/v1/payments/',
  '/v1//payments',
  '/v1/payments/../balance',
  '/v1/%2e%2e/payments',
  '/v1/payments/x/y/z',
  '/v1/PAYMENTS',
  '/v1/payments%00',
  `/v1/${'p'.repeat(9000)}`,
  '/v2/payments',
  '/v1/webhook_endpoints/%00/replay',
)

/** One generated request. `idFor` names an existing object so some paths hit real rows. */
export function requests(idFor: (template: string) => string): fc.Arbitrary<FuzzRequest> {
  const fromOperation = fc.constantFrom(...operations).chain((op) =>
    fc
      .record({
        body: bodies(op.body),
        duplicate: fc.boolean(),
        id: fc.oneof({ weight: 2, arbitrary: fc.constant(idFor(op.template)) }, ids),
        query: op.method === 'GET' ? queries : fc.constant(''),
        key: keys,
      })
      .map(({ body, duplicate, id, query, key }) => {
        const bodyText = op.method === 'GET' ? '' : textOf(body.value, duplicate)
        return {
          method: op.method,
          path: `${withPath(op.template, id)}${query}`,
          body: encoder.encode(bodyText),
          ...(op.idempotent && key !== undefined ? { idempotencyKey: key } : {}),
          label: `${op.method} ${op.template}${query.slice(0, 40)}: ${op.method === 'GET' ? 'no body' : body.mutation}${duplicate && op.method !== 'GET' ? ', duplicate key' : ''}`,
          operation: `${op.method.toLowerCase()} ${op.template}`,
        }
      }),
  )
  const raw = fc
    .record({
      op: fc.constantFrom(...operations.filter((o) => o.method === 'POST')),
      raw: rawBodies,
      key: fc.uuid(),
    })
    .map(({ op, raw, key }) => ({
      method: 'POST',
      path: withPath(op.template, idFor(op.template)),
      body: raw.bytes,
      idempotencyKey: `fuzz-raw-${key}`,
      label: `POST ${op.template}: ${raw.mutation}`,
      operation: `post ${op.template}`,
    }))
  const odd = fc
    .record({
      method: oddMethods,
      path: fc.oneof(
        oddPaths,
        fc.constantFrom(...operations.map((o) => withPath(o.template, 'pay_x'))),
      ),
    })
    .map(({ method, path }) => ({
      method,
      path,
      body: new Uint8Array(),
      label: `${method} ${path.slice(0, 60)}`,
      operation: 'odd',
    }))
  return fc.oneof(
    { weight: 6, arbitrary: fromOperation },
    { weight: 2, arbitrary: raw },
    { weight: 1, arbitrary: odd },
  )
}
