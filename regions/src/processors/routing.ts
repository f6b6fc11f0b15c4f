import { acquirerRest } from './acquirer-rest.ts'
import type { ProcessorAdapter } from './adapter.ts'
import { type BreakerOptions, breakerDefaults, CircuitBreaker } from './breaker.ts'
import { networkA } from './network-a.ts'
import { networkB } from './network-b.ts'

export const processorFactories = {
  'acquirer-rest': acquirerRest,
  'network-a': networkA,
  'network-b': networkB,
} as const

export type ProcessorName = keyof typeof processorFactories

export function isProcessorName(name: string): name is ProcessorName {
  return Object.hasOwn(processorFactories, name)
}

export interface RoutedProcessor {
  readonly adapter: ProcessorAdapter
  readonly breaker: CircuitBreaker
}

/** The region's processors in routing order, each with its own circuit breaker. */
export class ProcessorSet {
  private readonly byName = new Map<string, RoutedProcessor>()

  constructor(
    urls: Readonly<Record<string, string>>,
    options: {
      timeoutMs?: number
      breaker?: BreakerOptions
      /** Told the processor's name each time its breaker opens. */
      onBreakerOpen?: (processor: string) => void
    } = {},
  ) {
    const onOpen = options.onBreakerOpen
    for (const [name, url] of Object.entries(urls)) {
      if (!isProcessorName(name))
        throw new Error(
          `unknown processor ${name}; known: ${Object.keys(processorFactories).join(', ')}`,
        )
      const adapter = processorFactories[name](url, options.timeoutMs)
      this.byName.set(name, {
        adapter,
        breaker: new CircuitBreaker(
          name,
          options.breaker ?? breakerDefaults,
          Date.now,
          onOpen ? () => onOpen(name) : undefined,
        ),
      })
    }
  }

  get(name: string): RoutedProcessor | undefined {
    return this.byName.get(name)
  }

  /** Routing order for a new payment: spread by payment id, then the rest in order. */
  routeFor(paymentId: string): RoutedProcessor[] {
    const all = [...this.byName.values()]
    if (all.length === 0) return []
    let hash = 0
    for (let i = 0; i < paymentId.length; i++) hash = (hash * 31 + paymentId.charCodeAt(i)) >>> 0
    const start = hash % all.length
    return all.map((_, i) => all[(start + i) % all.length] as RoutedProcessor)
  }

  names(): string[] {
    return [...this.byName.keys()]
  }

  /** Every processor's breaker, in routing order (what the breaker-state gauge reads). */
  breakers(): CircuitBreaker[] {
    return [...this.byName.values()].map((p) => p.breaker)
  }
}

/** `acquirer-rest=http://…,network-a=http://…` → a map. */
export function parseProcessorUrls(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new Error(`PROCESSOR_URLS entry "${part}" is not name=url`)
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return out
}
