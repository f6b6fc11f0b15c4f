import { randomBytes } from 'node:crypto'

/**
 * Unique, self-describing names for per-test resources (schemas, key prefixes, topics, consumer
 * groups), in the kafkajs style of `test-topic-${random}`. The base-36 time lets a later run
 * sweep up what a crashed run left behind without touching a run still in progress.
 */
export function uniqueName(label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20)
  return `t_${clean}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
}

export function createdAtMs(name: string): number | undefined {
  const match = /^t_.*_([0-9a-z]{8,9})_[0-9a-f]{6}$/.exec(name)
  return match?.[1] ? Number.parseInt(match[1], 36) : undefined
}

/** Leftovers older than this are from a dead run and may be swept. */
export const leftoverAgeMsMin = 2 * 60 * 60_000
