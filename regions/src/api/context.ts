/** Per-request values the middleware establishes for the routes. */
export interface ApiVariables {
  requestId: string
  /** performance.now() when the request reached this region (Server-Timing's app step). */
  startedMs: number
  /** The response was made with every header the region adds (see app.ts send). */
  headed: boolean
  /** Set only after the edge signature verified. */
  merchantId: string
  epoch: number
  /** The API key's mode as the edge signed it; test when the edge signed none. */
  mode: 'test' | 'live'
  /** The exact body bytes the signature covered, decoded as UTF-8. */
  rawBody: string
}

export interface ApiEnv {
  Variables: ApiVariables
}
