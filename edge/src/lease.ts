/**
 * A merchant's fixed one-second window, counted exactly in Upstash Redis, but reserved in small
 * batches ("leases") so most requests are admitted by the isolate without a round trip.
 *
 * Why: asking Upstash on every request put one network round trip (≈2 ms p50 locally, far more
 * at the tail) in front of every payment. A lease of n tokens is taken from the same window
 * counter the limiter keeps (`limit(merchant, { rate: n })`), so the sum over every isolate of
 * what was admitted in a window never exceeds the limit. The cost is the other way round: tokens
 * an isolate reserved and did not spend are lost to the others until the window ends, so a
 * merchant spread over many isolates may be refused a little early (at most `leaseTokensMax`
 * per isolate per window, and never more than `leaseShareOfLimit` of its limit per take).
 *
 * Busy merchants have the next window's lease taken just after that window opens, in the
 * background, so the first request of a window does not wait either. A merchant seen once gets
 * exactly what it asked for: its first take is one token.
 */

/** What the limiter answered for one take (the shape of @upstash/ratelimit's answer). */
export interface Grant {
  readonly success: boolean
  readonly limit: number
  readonly remaining: number
  /** Unix ms at which the window this take counted in ends. */
  readonly reset: number
  /** 'timeout': the limiter did not answer in time and let the take through unchecked. */
  readonly reason?: string
  readonly pending: Promise<unknown>
}

/** Take `tokens` from the merchant's current window (a negative count gives them back). */
export type Take = (merchantId: string, tokens: number) => Promise<Grant>

export interface Admission {
  readonly success: boolean
  readonly limit: number
  /** What is left of the merchant's window, as far as this isolate knows. */
  readonly remaining: number
  readonly reset: number
  /**
   * How the answer was reached: from tokens this isolate held ('lease'), after asking the
   * limiter ('limiter'), refused because the window was known spent ('spent'), or let through
   * unchecked because the limiter did not answer in time ('unchecked', fail open).
   */
  readonly source: 'lease' | 'limiter' | 'spent' | 'unchecked'
}

export interface LeaseLimits {
  /** Tokens one take may reserve at most. */
  readonly leaseTokensMax: number
  /** And at most this share of the merchant's limit, so one isolate cannot hoard a window. */
  readonly leaseShareOfLimit: number
  /** Take the next window's lease ahead once a merchant has spent this many in a window. */
  readonly prefetchAfterTokens: number
  /** Wait this long past a window's start before taking its lease (clock skew with Redis). */
  readonly prefetchDelayMs: number
  /** Merchants whose state one isolate keeps at most (then it forgets the longest known). */
  readonly merchantsMax: number
}

export const defaultLeaseLimits: LeaseLimits = {
  leaseTokensMax: 16,
  leaseShareOfLimit: 0.1,
  prefetchAfterTokens: 2,
  prefetchDelayMs: 2,
  merchantsMax: 10_000,
}

interface MerchantWindow {
  /** Window number: floor(unix ms / windowMs). */
  window: number
  /** Tokens reserved in `window` and not spent yet. */
  tokens: number
  /** Tokens spent in `window` by this isolate. */
  spent: number
  /** Tokens spent in the window before, which sizes the next take. */
  spentBefore: number
  /** The limiter's count of what is left in `window` after our last take (unknown before it). */
  remaining?: number
  /** The limiter refused a one-token take: the window is spent for everyone. */
  exhausted: boolean
  /** Takes under way for this merchant (a top-up is not started while one is). */
  refilling: number
  /** Window whose lease is already being taken ahead. */
  prefetched?: number
}

/** Where a request's own after-the-answer work goes: its ExecutionContext's waitUntil. */
export type Background = (work: Promise<unknown>) => void

export class TokenLeases {
  private readonly merchants = new Map<string, MerchantWindow>()
  private limit = 0

  constructor(
    private readonly take: Take,
    private readonly windowMs: number,
    private readonly limits: LeaseLimits = defaultLeaseLimits,
  ) {}

  /**
   * Admit one request of the merchant, or refuse it. A request never waits on a take another
   * request started (workerd cancels a continuation whose creating request has finished), so a
   * request that finds no token asks for its own.
   */
  async admit(merchantId: string, background: Background): Promise<Admission> {
    for (let asked = false; ; asked = true) {
      const window = this.windowNow()
      const state = this.current(merchantId, window)
      const reset = (window + 1) * this.windowMs
      if (state.tokens > 0) {
        state.tokens--
        state.spent++
        this.topUp(merchantId, state, background)
        this.prefetch(merchantId, state, background)
        return this.answer(true, state, reset, asked ? 'limiter' : 'lease')
      }
      if (state.exhausted) return this.answer(false, state, reset, asked ? 'limiter' : 'spent')
      const grant = await this.refill(merchantId, state, background)
      if (grant.reason === 'timeout') return this.answer(true, state, grant.reset, 'unchecked')
      // The tokens are this isolate's now (or the window is known spent): go round again.
    }
  }

  private answer(
    success: boolean,
    state: MerchantWindow,
    reset: number,
    source: Admission['source'],
  ): Admission {
    const remaining = Math.max(0, (state.remaining ?? 0) + state.tokens)
    return { success, limit: this.limit, remaining, reset, source }
  }

  /** This merchant's state for `window`, rolled over (and the map pruned) when a window passed. */
  private current(merchantId: string, window: number): MerchantWindow {
    let state = this.merchants.get(merchantId)
    if (!state) {
      if (this.merchants.size >= this.limits.merchantsMax) this.forget(window)
      state = { window, tokens: 0, spent: 0, spentBefore: 0, exhausted: false, refilling: 0 }
      this.merchants.set(merchantId, state)
    } else if (state.window < window) {
      state.spentBefore = state.window === window - 1 ? state.spent : 0
      Object.assign(state, { window, tokens: 0, spent: 0, remaining: undefined, exhausted: false })
    }
    return state
  }

  /** Merchants this isolate keeps state for: at most `merchantsMax`, but for takes under way. */
  get merchantCount(): number {
    return this.merchants.size
  }

  /**
   * Make room for one more merchant: drop those whose last window is over, and if every one is
   * still in use, the longest known (the map keeps insertion order) until a tenth is free, so a
   * crowd of new merchants costs one scan per tenth of the map, not one each. A dropped
   * merchant's unspent tokens are lost until its window ends: it may be refused early, never
   * admitted over its limit. One with a take under way is kept: the take settles into it.
   */
  private forget(window: number): void {
    for (const [id, s] of this.merchants)
      if (s.window < window - 1 && s.refilling === 0) this.merchants.delete(id)
    const keep = this.limits.merchantsMax - Math.ceil(this.limits.merchantsMax / 10)
    for (const [id, s] of this.merchants) {
      if (this.merchants.size <= keep) break
      if (s.refilling === 0) this.merchants.delete(id)
    }
  }

  /**
   * One token for a merchant new to this isolate; after that, about a window's worth of use,
   * never more than the window is known to have left (a batch that does not fit is refused).
   */
  private leaseSize(state: MerchantWindow): number {
    const share = Math.floor(this.limit * this.limits.leaseShareOfLimit)
    const wanted = Math.max(state.spentBefore, state.spent)
    const left = state.remaining ?? Number.POSITIVE_INFINITY
    return Math.max(1, Math.min(this.limits.leaseTokensMax, share, wanted, left))
  }

  /**
   * Take a lease for the merchant's current window. The window counter goes up even for a take
   * it refuses, so a refused take is given back while its window is still open: refused requests
   * do not use up a window that other isolates still have tokens left in. A refused batch is
   * followed by a one-token take, which is what decides whether the window is spent.
   */
  private async refill(
    merchantId: string,
    state: MerchantWindow,
    background: Background,
  ): Promise<Grant> {
    state.refilling++
    try {
      for (let tokens = this.leaseSize(state); ; tokens = 1) {
        const grant = await this.take(merchantId, tokens)
        background(grant.pending)
        if (grant.reason === 'timeout') return grant
        if (!grant.success && this.windowOf(grant) === this.windowNow())
          background((await this.take(merchantId, -tokens)).pending)
        if (grant.success || tokens === 1) {
          this.settle(merchantId, grant, tokens)
          return grant
        }
      }
    } finally {
      state.refilling--
    }
  }

  private windowNow(): number {
    return Math.floor(Date.now() / this.windowMs)
  }

  private windowOf(grant: Grant): number {
    return Math.round(grant.reset / this.windowMs) - 1
  }

  /** File a grant under the window it counted in (the clock may have moved on since we asked). */
  private settle(merchantId: string, grant: Grant, tokens: number): void {
    this.limit = grant.limit
    const window = this.windowOf(grant)
    const state = this.current(merchantId, window)
    if (state.window !== window) return // a take for a window already gone: nothing to keep
    state.remaining = grant.remaining
    if (grant.success) state.tokens += tokens
    else state.exhausted = true
  }

  /**
   * A busy merchant running low takes its next lease before it runs out, while the window has
   * room for it (near the limit, requests ask one by one, so no batch overshoots).
   */
  private topUp(merchantId: string, state: MerchantWindow, background: Background): void {
    if (state.spent < this.limits.prefetchAfterTokens || state.refilling > 0) return
    const size = this.leaseSize(state)
    if (state.tokens > Math.floor(size / 2) || (state.remaining ?? 0) < size) return
    background(this.refill(merchantId, state, background).catch(() => {}))
  }

  /** A busy merchant's next window is leased just after it opens, before its first request. */
  private prefetch(merchantId: string, state: MerchantWindow, background: Background): void {
    const next = state.window + 1
    if (state.spent < this.limits.prefetchAfterTokens || state.prefetched === next) return
    state.prefetched = next
    const waitMs = next * this.windowMs - Date.now() + this.limits.prefetchDelayMs
    const later = new Promise((r) => setTimeout(r, Math.max(0, waitMs))).then(() => {
      const now = this.current(merchantId, this.windowNow())
      if (now.tokens > 0 || now.refilling > 0 || now.exhausted) return
      return this.refill(merchantId, now, background)
    })
    background(later.catch(() => {}))
  }
}
