/**
 * What one isolate remembers of KV, for a short while. Workers KV reads are fast at a location
 * that has the value, but every request reading the same key twice a second gains nothing from
 * asking again; the TTL bounds how long a change (a revoked key, a moved merchant) goes unseen by
 * this isolate.
 *
 * Refresh ahead: past `refreshAfterMs` an entry is still served, and the first request to see it
 * so reads KV again in the background (its waitUntil). Under steady traffic no request waits on
 * KV at all (each expiry used to put one KV read in front of one request: the edge's p99 at
 * 100 requests/s), and the bound is unchanged: no entry is served past `ttlMs` from its read.
 */
export class IsolateCache<V> {
  private readonly entries = new Map<
    string,
    { value: V; readAtMs: number; expiresAtMs: number; refreshing: boolean }
  >()

  constructor(
    readonly ttlMs: number,
    private readonly sizeMax: number,
    private readonly nowMs: () => number = Date.now,
    readonly refreshAfterMs: number = ttlMs / 2,
  ) {}

  /**
   * The entry, or undefined when there is none or it is older than the TTL. `refresh` is true
   * for the one caller that should read KV again in the background (see the class comment).
   */
  get(key: string): { readonly value: V; readonly refresh: boolean } | undefined {
    const found = this.entries.get(key)
    if (!found) return undefined
    const now = this.nowMs()
    if (found.expiresAtMs <= now) {
      this.entries.delete(key)
      return undefined
    }
    const refresh = !found.refreshing && now - found.readAtMs >= this.refreshAfterMs
    if (refresh) found.refreshing = true
    return { value: found.value, refresh }
  }

  /** `readAtMs`: when the value was read (a background read sets it when it began). */
  set(key: string, value: V, readAtMs: number = this.nowMs()): void {
    // A crude bound, not an LRU: a full cache starts over, which costs one KV read per key.
    if (this.entries.size >= this.sizeMax) this.entries.clear()
    this.entries.set(key, {
      value,
      readAtMs,
      expiresAtMs: readAtMs + this.ttlMs,
      refreshing: false,
    })
  }

  /** A background read failed: let a later request try again (the entry still expires on time). */
  refreshFailed(key: string): void {
    const found = this.entries.get(key)
    if (found) found.refreshing = false
  }

  /**
   * Read `key` again with `read` in the background (`background` is the request's waitUntil): the
   * entry counts its age from when the read began, so its bound holds whatever the read takes.
   */
  refreshIn(background: (work: Promise<unknown>) => void, key: string, read: () => Promise<V>) {
    const began = this.nowMs()
    const refreshed = this.entries.get(key)
    // Kept only if the entry is still the one refreshed: one dropped meanwhile (a region said the
    // placement moved) or replaced by a newer read must not come back with what this read saw.
    const current = () => refreshed !== undefined && this.entries.get(key) === refreshed
    background(
      read().then(
        (value) => {
          if (current()) this.set(key, value, began)
        },
        () => {
          if (current()) this.refreshFailed(key)
        },
      ),
    )
  }

  delete(key: string): void {
    this.entries.delete(key)
  }
}

/**
 * KV's own `cacheTtl` (seconds), for every read the edge makes. In the cloud, a `get` is served
 * from the Cloudflare location's cache of that key for up to `cacheTtl` seconds before KV looks
 * again at its central store, so it adds to the isolate cache's staleness: a revoked key or a new
 * placement can go unseen at a location for up to this long (plus the isolate TTL). Left unset it
 * is 60 s; 30 s is the least Cloudflare accepts (miniflare enforces the same,
 * `KVLimits.MIN_CACHE_TTL_SECONDS`). Locally (miniflare) it has no effect: reads see writes at once.
 */
export const kvCacheTtlSec = 30
