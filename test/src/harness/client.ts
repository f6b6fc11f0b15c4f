import { edgeSignatureHeader, signEdgeRequest } from '@meridian/core'

export interface ApiResponse {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON and then assert on it.
  readonly json: any
}

export interface RequestOptions {
  readonly body?: unknown
  /** Sent as-is instead of JSON.stringify(body): malformed JSON, huge bodies. */
  readonly rawBody?: string
  readonly idempotencyKey?: string
  readonly headers?: Record<string, string>
  /** Skip the edge signature (a direct, unsigned call). */
  readonly unsigned?: boolean
  /** Sign as if at this unix time (stale signatures). */
  readonly signedAtSec?: number
  readonly secret?: string
}

/** An answer's text, and its JSON when it is JSON (undefined otherwise: tests assert on it). */
export async function readAnswer(response: Response): Promise<{ text: string; json: unknown }> {
  const text = await response.text()
  try {
    return { text, json: JSON.parse(text) }
  } catch {
    return { text, json: undefined }
  }
}

/** Calls a region exactly as the edge does: signed with the helper the edge uses. */
export class RegionClient {
  constructor(
    readonly baseUrl: string,
    private readonly secret: string,
    readonly merchantId: string,
    /** The region the signature says the request is for (the edge's routing decision). */
    readonly region = 'us-east',
    private readonly epoch = 1,
    /** The key mode the signature carries (none: as an edge that signs no mode). */
    private readonly mode?: 'test' | 'live',
  ) {}

  /** The same caller with a key of this mode, as the edge signs it. */
  withMode(mode: 'test' | 'live'): RegionClient {
    return new RegionClient(
      this.baseUrl,
      this.secret,
      this.merchantId,
      this.region,
      this.epoch,
      mode,
    )
  }

  forMerchant(merchantId: string): RegionClient {
    return new RegionClient(this.baseUrl, this.secret, merchantId, this.region, this.epoch)
  }

  /** The same caller, signing as if routed to another region or by another registry epoch. */
  routedAs(region: string, epoch = this.epoch): RegionClient {
    return new RegionClient(this.baseUrl, this.secret, this.merchantId, region, epoch)
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const body = options.rawBody ?? (options.body === undefined ? '' : JSON.stringify(options.body))
    const headers: Record<string, string> = { ...options.headers }
    if (body !== '') headers['Content-Type'] ??= 'application/json'
    if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey
    if (!options.unsigned) {
      headers[edgeSignatureHeader] = await signEdgeRequest(
        options.secret ?? this.secret,
        {
          method,
          path,
          merchantId: this.merchantId,
          epoch: this.epoch,
          region: this.region,
          ...(this.mode ? { mode: this.mode } : {}),
          body,
        },
        options.signedAtSec,
      )
    }
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body === '' ? {} : { body }),
    })
    const { text, json } = await readAnswer(response)
    return { status: response.status, headers: response.headers, text, json }
  }

  post(
    path: string,
    body: unknown,
    idempotencyKey: string | undefined,
    options: RequestOptions = {},
  ) {
    return this.request('POST', path, {
      ...options,
      body,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    })
  }

  get(path: string, options: RequestOptions = {}) {
    return this.request('GET', path, options)
  }
}
