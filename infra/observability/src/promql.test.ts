import { describe, expect, it } from 'vitest'
import { metricNames } from './promql.ts'

describe('metric names in PromQL', () => {
  it('finds the metrics, not the functions, labels, durations or keywords around them', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (region, le) (rate(meridian_http_request_duration_seconds_bucket{route=~"/v1/.+", status!~"5.."}[5m])))',
      ),
    ).toEqual(['meridian_http_request_duration_seconds_bucket'])
    expect(
      metricNames(
        'max by (region) (a_total) > 100 and on (region) group_left (origin) max without (instance) (deriv(b_gauge[10m] offset 1h)) > bool 0',
      ),
    ).toEqual(['a_total', 'b_gauge'])
  })

  it('keeps recording-rule names (with colons) and metrics after a binary operator', () => {
    expect(metricNames('meridian:api_error_ratio:rate1h > (14.4 * 0.001)\nor up == 0')).toEqual([
      'meridian:api_error_ratio:rate1h',
      'up',
    ])
  })

  it('ignores label values that look like names, subqueries and Grafana variables', () => {
    expect(
      metricNames(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: ${scale} is Grafana's variable syntax, meant literally.
        'sum(rate(x_total{state="open", job=~"meridian-.+"}[$__rate_interval])) / max_over_time(y[1h:5m]) * ${scale} + 1e3',
      ),
    ).toEqual(['x_total', 'y'])
  })
})
