import { describe, expect, it } from 'vitest'
import { IsolateCache } from '../src/isolate-cache.ts'

function setup() {
  let now = 1_000
  const cache = new IsolateCache<string>(2000, 100, () => now, 1000)
  const waits: Promise<unknown>[] = []
  const background = (work: Promise<unknown>) => waits.push(work)
  const settle = () => Promise.all(waits.splice(0))
  return { cache, background, settle, at: (ms: number) => (now = ms) }
}

describe('IsolateCache refresh ahead', () => {
  it('serves a young entry without asking for a refresh', () => {
    const { cache, at } = setup()
    cache.set('k', 'v1')
    at(1_999)
    expect(cache.get('k')).toEqual({ value: 'v1', refresh: false })
  })

  it('asks exactly one caller to refresh once the entry is past refreshAfterMs', () => {
    const { cache, at } = setup()
    cache.set('k', 'v1')
    at(2_000)
    expect(cache.get('k')).toEqual({ value: 'v1', refresh: true })
    expect(cache.get('k')).toEqual({ value: 'v1', refresh: false })
  })

  it('keeps the background read, aged from when it began', async () => {
    const { cache, at, background, settle } = setup()
    cache.set('k', 'v1')
    at(2_500)
    cache.get('k')
    let answer: (v: string) => void = () => {}
    cache.refreshIn(background, 'k', () => new Promise((r) => (answer = r)))
    at(2_900)
    answer('v2')
    await settle()
    expect(cache.get('k')?.value).toBe('v2')
    // Read began at 2,500: it expires at 4,500, not 2,000 after it landed.
    at(4_499)
    expect(cache.get('k')?.value).toBe('v2')
    at(4_500)
    expect(cache.get('k')).toBeUndefined()
  })

  it('never serves an entry past its TTL, even while its refresh is under way', () => {
    const { cache, at, background } = setup()
    cache.set('k', 'v1')
    at(2_000)
    cache.get('k')
    cache.refreshIn(background, 'k', () => new Promise(() => {}))
    at(3_000)
    expect(cache.get('k')).toBeUndefined()
  })

  it('drops what a refresh read if the entry was dropped meanwhile', async () => {
    const { cache, at, background, settle } = setup()
    cache.set('k', 'old')
    at(2_000)
    cache.get('k')
    let answer: (v: string) => void = () => {}
    cache.refreshIn(background, 'k', () => new Promise((r) => (answer = r)))
    cache.delete('k')
    answer('what the slow read saw')
    await settle()
    expect(cache.get('k')).toBeUndefined()
  })

  it('lets a later caller refresh after a refresh failed', async () => {
    const { cache, at, background, settle } = setup()
    cache.set('k', 'v1')
    at(2_000)
    cache.get('k')
    cache.refreshIn(background, 'k', () => Promise.reject(new Error('KV down')))
    await settle()
    expect(cache.get('k')).toEqual({ value: 'v1', refresh: true })
  })
})
