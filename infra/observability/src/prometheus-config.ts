import { stringify } from 'yaml'

/** One process Prometheus scrapes: its job, host:port, and the labels it is known by. */
export interface ScrapeTarget {
  readonly job: string
  readonly address: string
  readonly labels: Readonly<Record<string, string>>
}

export interface PrometheusConfigOptions {
  readonly targets: readonly ScrapeTarget[]
  /** Absolute paths of the rule files to load. */
  readonly ruleFiles: readonly string[]
  readonly scrapeIntervalS: number
}

/**
 * prometheus.yml for these targets. `honor_labels`: the services label their metrics with their
 * own `region` already, which must stay `region` (not `exported_region`) for the rules to match.
 */
export function prometheusConfig(options: PrometheusConfigOptions): string {
  const jobs = [...new Set(options.targets.map((t) => t.job))]
  return stringify({
    global: {
      scrape_interval: `${options.scrapeIntervalS}s`,
      evaluation_interval: `${options.scrapeIntervalS}s`,
    },
    rule_files: options.ruleFiles,
    scrape_configs: jobs.map((job) => ({
      job_name: job,
      honor_labels: true,
      static_configs: options.targets
        .filter((t) => t.job === job)
        .map((t) => ({ targets: [t.address], labels: { ...t.labels } })),
    })),
  })
}
