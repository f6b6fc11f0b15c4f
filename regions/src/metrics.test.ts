import { describe, expect, it } from 'vitest'
import { createMetrics, readWithin } from './metrics.ts'
import { CircuitBreaker } from './processors/breaker.ts'
import { ProcessorSet } from './processors/routing.ts'

/** One sample line of the exposition text, or undefined. */
function sample(text: string, name: string, labels: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
}

describe('region metrics read when scraped', () => {
  it("shows each breaker's current state, including the half-open that only the clock makes", async () => {
    const metrics = createMetrics('us-east')
    let now = 0
    const breaker = new CircuitBreaker('network-a', { failuresMax: 1, openMs: 100 }, () => now)
    metrics.sources.breakers = () => [breaker]
    const state = 'meridian_processor_breaker_state'
    const labels = (s: string) => `processor="network-a",state="${s}",region="us-east"`
    let text = await metrics.registry.metrics()
    expect(sample(text, state, labels('closed'))).toMatch(/ 1$/)
    breaker.failure()
    text = await metrics.registry.metrics()
    expect(sample(text, state, labels('open'))).toMatch(/ 1$/)
    expect(sample(text, state, labels('closed'))).toMatch(/ 0$/)
    now = 100
    text = await metrics.registry.metrics()
    expect(sample(text, state, labels('half_open'))).toMatch(/ 1$/)
    expect(sample(text, state, labels('open'))).toMatch(/ 0$/)
  })

  it('counts breaker openings by processor through the processor set', async () => {
    const metrics = createMetrics('us-east')
    const set = new ProcessorSet(
      { 'network-b': 'http://127.0.0.1:9' },
      {
        breaker: { failuresMax: 1, openMs: 60_000 },
        onBreakerOpen: (processor) => metrics.breakerOpened.inc({ processor }),
      },
    )
    set.get('network-b')?.breaker.failure()
    const text = await metrics.registry.metrics()
    expect(
      sample(
        text,
        'meridian_processor_breaker_opened_total',
        'processor="network-b",region="us-east"',
      ),
    ).toMatch(/ 1$/)
  })

  it('a process without breakers exports no breaker series', async () => {
    const text = await createMetrics('us-east').registry.metrics()
    expect(text).not.toMatch(/^meridian_processor_breaker_state\{/m)
  })

  it('reads the webhook backlog at scrape time, and says NaN when the source fails', async () => {
    const metrics = createMetrics('eu-west')
    let backlog: () => Promise<number> = async () => 7
    metrics.sources.webhookBacklog = () => backlog()
    expect(await metrics.registry.metrics()).toMatch(/^meridian_webhook_backlog\{.*\} 7$/m)
    backlog = () => Promise.reject(new Error('database down'))
    // prom-client writes NaN as `Nan`; Prometheus reads either spelling.
    expect(await metrics.registry.metrics()).toMatch(/^meridian_webhook_backlog\{.*\} NaN$/im)
  })
})

describe('readWithin', () => {
  it('is NaN for a source that never answers, so a hung database cannot hang the scrape', async () => {
    expect(await readWithin(() => new Promise<number>(() => {}), 5)).toBeNaN()
    expect(await readWithin(async () => 3, 5)).toBe(3)
  })
})
