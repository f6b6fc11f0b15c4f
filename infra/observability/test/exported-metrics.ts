import { createMetrics } from '@meridian/regions'
import { createReplicationMetrics } from '@meridian/replication'

/**
 * Series Prometheus writes itself for every target it scrapes, which no service exports: `up`
 * (1 when the scrape worked) is how a process that is gone shows.
 */
export const prometheusSeries = ['up'] as const

/**
 * Every series name the services export, derived from their registries as the services create
 * them (not a list kept by hand): a histogram is its _bucket, _sum and _count series.
 */
export async function exportedSeries(): Promise<Set<string>> {
  const registries = [
    createMetrics('us-east').registry,
    createReplicationMetrics('us-east').registry,
  ]
  const names = new Set<string>()
  for (const registry of registries)
    for (const metric of await registry.getMetricsAsJSON()) {
      // prom-client types `type` as a numeric enum; at run time it is the text Prometheus shows.
      const type = String(metric.type)
      const suffixes =
        type === 'histogram'
          ? ['_bucket', '_sum', '_count']
          : type === 'summary'
            ? ['', '_sum', '_count']
            : ['']
      for (const suffix of suffixes) names.add(`${metric.name}${suffix}`)
    }
  return names
}
