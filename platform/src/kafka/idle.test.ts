import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'

/** kafkajs's per-connection request queue (internal; patched in patches/kafkajs@2.2.4.patch). */
interface RequestQueue {
  pending: unknown[]
  throttledUntil: number
  throttleCheckTimeoutId: NodeJS.Timeout | null
  checkPendingRequests(): void
  scheduleCheckPendingRequests(): void
}

const require = createRequire(import.meta.url)
const RequestQueue = require('kafkajs/src/network/requestQueue') as new (options: {
  maxInFlightRequests: number | null
  requestTimeout: number
  enforceRequestTimeout: boolean
  clientId: string
  broker: string
  logger: Record<'debug' | 'info' | 'warn' | 'error', () => void>
}) => RequestQueue

function queue(): RequestQueue {
  const quiet = () => {}
  return new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    clientId: 'test',
    broker: '127.0.0.1:9092',
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  })
}

describe('kafkajs request queue (patched)', () => {
  it('schedules no check when nothing is pending, so an idle connection does not spin a timer', () => {
    const q = queue()
    q.checkPendingRequests()
    expect(q.throttleCheckTimeoutId).toBeNull()
  })

  it('still schedules a check while a request waits out a throttle', () => {
    const q = queue()
    q.throttledUntil = Date.now() + 60_000
    q.pending.push({})
    q.scheduleCheckPendingRequests()
    expect(q.throttleCheckTimeoutId).not.toBeNull()
    clearTimeout(q.throttleCheckTimeoutId ?? undefined)
  })
})
