/** Per-request values the middleware establishes for the routes. */
export interface ApiVariables {
  requestId: string
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
