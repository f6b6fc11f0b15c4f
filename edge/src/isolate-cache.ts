/**
 * What one isolate remembers of KV, for a short while. Workers KV reads are fast at a location
 * that has the value, but every request reading the same key twice a second gains nothing from
 * asking again; the TTL bounds how long a change (a revoked key, a moved merchant) goes unseen by
 * this isolate.
 */
export class IsolateCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>()

  constructor(
    readonly ttlMs: number,
    private readonly sizeMax: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The entry, or undefined when there is none or it is older than the TTL. */
  get(key: string): { readonly value: V } | undefined {
    const found = this.entries.get(key)
    if (!found) return undefined
    if (found.expiresAtMs > this.nowMs()) return found
    this.entries.delete(key)
    return undefined
  }

  set(key: string, value: V): void {
    // A crude bound, not an LRU: a full cache starts over, which costs one KV read per key.
    if (this.entries.size >= this.sizeMax) this.entries.clear()
    this.entries.set(key, { value, expiresAtMs: this.nowMs() + this.ttlMs })
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
