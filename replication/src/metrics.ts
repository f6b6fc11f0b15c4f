import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** What a gauge reads only when scraped, set by the applier (the half that hears heartbeats). */
export interface ReplicationScrapeSources {
  /** Origin → seconds this region is behind it at least (link-lag.ts). */
  linkLag?: () => Iterable<readonly [string, number]>
}

export function createReplicationMetrics(region: string) {
  const registry = new Registry()
  registry.setDefaultLabels({ region })
  const sources: ReplicationScrapeSources = {}
  return {
    registry,
    sources,
    // Read when scraped: a stopped link sends no event to set it from, and must still show.
    linkLag: new Gauge({
      name: 'meridian_replication_link_lag_seconds',
      help: "How far behind each origin this region is at least: the last heartbeat's trip, or how overdue the next one is.",
      labelNames: ['origin'] as const,
      registers: [registry],
      collect() {
        for (const [origin, seconds] of sources.linkLag?.() ?? []) this.set({ origin }, seconds)
      },
    }),
    latency: new Histogram({
      name: 'meridian_replication_latency_seconds',
      help: 'From the event being written in its origin region (its HLC) to being applied here.',
      labelNames: ['origin'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    recordAge: new Gauge({
      name: 'meridian_replication_record_age_seconds',
      help: 'Age of the last record applied from each origin, by its Kafka timestamp.',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'meridian_replication_lag_records',
      help: 'Records in the replicated topic partition not yet applied.',
      labelNames: ['origin', 'partition'] as const,
      registers: [registry],
    }),
    heartbeatAge: new Gauge({
      name: 'meridian_replication_heartbeat_age_seconds',
      help: 'Age of the last heartbeat from each origin: how stale this link is, with or without traffic.',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    applied: new Counter({
      name: 'meridian_replication_applied_total',
      help: 'Events from other regions merged into this one.',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    duplicatePayments: new Gauge({
      name: 'meridian_duplicate_payments',
      help: 'Payments found sharing an Idempotency-Key with another: open (being undone) or compensated.',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'meridian_replication_duplicates_total',
      help: 'Events received again and skipped (at-least-once delivery, deduped here).',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    withheld: new Counter({
      name: 'meridian_replication_withheld_total',
      help: "Records not copied here: their merchant's residency excludes this region.",
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    shipped: new Counter({
      name: 'meridian_replication_shipped_total',
      help: 'Records copied from another region into this cluster.',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
  }
}

export type ReplicationMetrics = ReturnType<typeof createReplicationMetrics>
