import type { RegionTopics } from '@meridian/core'

/**
 * Topic names: the naming rule of a region's own topics is `topicsFor` in @meridian/core (regions
 * name their events topic by it too); here, the copies of other regions' topics.
 */
export type ReplicationTopics = RegionTopics

export function replicatedTopic(origin: string, topic: string): string {
  return `${origin}.${topic}`
}

/** Region ids have no dots, so the origin is whatever precedes the first one. */
export function originOfTopic(topic: string): string | undefined {
  const dot = topic.indexOf('.')
  return dot > 0 ? topic.slice(0, dot) : undefined
}
