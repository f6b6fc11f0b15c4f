import { describe, expect, it } from 'vitest'
import { createMetrics } from './metrics.ts'
import { serveMetrics } from './metrics-server.ts'

describe('metrics of a process without the API', () => {
  it('are served over HTTP on their own port, and the port closes on stop', async () => {
    const metrics = createMetrics('ap-south')
    metrics.outboxBacklog.set(42)
    const server = await serveMetrics(metrics, '127.0.0.1', 0)
    const response = await fetch(`${server.url}/metrics`)
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType)
    expect(await response.text()).toMatch(/^meridian_outbox_backlog\{region="ap-south"\} 42$/m)
    await server.stop()
    await expect(fetch(`${server.url}/metrics`)).rejects.toThrow()
  })

  it('refuses to start on a port already taken, instead of running unseen', async () => {
    const first = await serveMetrics(createMetrics('ap-south'), '127.0.0.1', 0)
    const port = Number(new URL(first.url).port)
    await expect(serveMetrics(createMetrics('ap-south'), '127.0.0.1', port)).rejects.toThrow(
      /EADDRINUSE/,
    )
    await first.stop()
  })
})
