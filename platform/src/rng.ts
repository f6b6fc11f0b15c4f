/**
 * mulberry32, the one seeded generator: a simulator's faults, a drill's load and the money-path
 * model's whole run follow from a seed, so a failing seed replays exactly.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The same generator with the draws a simulation needs. */
export class Rng {
  readonly next: () => number

  constructor(seed: number) {
    this.next = seededRandom(seed)
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }
}
