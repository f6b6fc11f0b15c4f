import { backoffMs, withRetry } from '@meridian/platform'
import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from './breaker.ts'

describe('circuit breaker', () => {
  it('opens after consecutive failures, half-opens after a while, closes on a good trial', () => {
    let now = 0
    const b = new CircuitBreaker('p', { failuresMax: 3, openMs: 1000 }, () => now)
    for (let i = 0; i < 2; i++) b.failure()
    expect(b.state).toBe('closed')
    b.failure()
    expect(b.state).toBe('open')
    expect(b.allow()).toBe(false)
    now = 1000
    expect(b.state).toBe('half_open')
    expect(b.allow()).toBe(true)
    // Only one trial at a time while half-open.
    expect(b.allow()).toBe(false)
    b.success()
    expect(b.state).toBe('closed')
  })

  it('a failed trial opens it again at once', () => {
    let now = 0
    const b = new CircuitBreaker('p', { failuresMax: 1, openMs: 100 }, () => now)
    b.failure()
    now = 150
    expect(b.allow()).toBe(true)
    b.failure()
    expect(b.state).toBe('open')
  })

  it('tells each opening once: from closed, and again after a failed trial', () => {
    let now = 0
    let opened = 0
    const b = new CircuitBreaker(
      'p',
      { failuresMax: 2, openMs: 100 },
      () => now,
      () => opened++,
    )
    b.failure()
    expect(opened).toBe(0)
    b.failure()
    expect(opened).toBe(1)
    // A call that went out before it opened and fails now only extends the opening.
    b.failure()
    expect(opened).toBe(1)
    now = 250
    expect(b.allow()).toBe(true)
    b.failure()
    expect(opened).toBe(2)
  })

  it('a success resets the count of consecutive failures', () => {
    const b = new CircuitBreaker('p', { failuresMax: 2, openMs: 100 })
    b.failure()
    b.success()
    b.failure()
    expect(b.state).toBe('closed')
  })
})

describe('bounded retry', () => {
  const options = { attemptsMax: 3, retryDelayMsBase: 1, retryDelayMsMax: 4 }

  it('retries only retriable errors, at most attemptsMax times', async () => {
    let calls = 0
    await expect(
      withRetry(async () => {
        calls++
        throw Object.assign(new Error('flaky'), { retriable: true })
      }, options),
    ).rejects.toThrow('flaky')
    expect(calls).toBe(3)
    calls = 0
    await expect(
      withRetry(async () => {
        calls++
        throw new Error('bug')
      }, options),
    ).rejects.toThrow('bug')
    expect(calls).toBe(1)
  })

  it('backs off exponentially with full jitter, capped', () => {
    expect(
      backoffMs(0, { attemptsMax: 9, retryDelayMsBase: 100, retryDelayMsMax: 1000 }, () => 0.999),
    ).toBe(99)
    expect(
      backoffMs(3, { attemptsMax: 9, retryDelayMsBase: 100, retryDelayMsMax: 1000 }, () => 0.999),
    ).toBe(799)
    expect(
      backoffMs(9, { attemptsMax: 9, retryDelayMsBase: 100, retryDelayMsMax: 1000 }, () => 0.999),
    ).toBe(999)
    expect(
      backoffMs(9, { attemptsMax: 9, retryDelayMsBase: 100, retryDelayMsMax: 1000 }, () => 0),
    ).toBe(0)
  })
})
