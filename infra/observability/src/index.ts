import { fileURLToPath } from 'node:url'

export {
  type PrometheusConfigOptions,
  prometheusConfig,
  type ScrapeTarget,
} from './prometheus-config.ts'
export { metricNames } from './promql.ts'

/** The alert and recording rules (docs/observability.md says what each alert means). */
export const rulesFile = fileURLToPath(new URL('../rules/meridian.rules.yml', import.meta.url))
/** The fleet's Grafana dashboard. */
export const dashboardFile = fileURLToPath(new URL('../dashboards/fleet.json', import.meta.url))
