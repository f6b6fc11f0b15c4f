/**
 * Topic names. Each region's cluster holds its own `events` and `heartbeats` and, copied from
 * every other region, `<origin>.events` and `<origin>.heartbeats` (MirrorMaker 2 naming). Tests
 * put a namespace in front (`t_x_events`) so they can share brokers.
 */
export interface ReplicationTopics {
  readonly events: string
  readonly heartbeats: string
}

export function topicsFor(namespace = ''): ReplicationTopics {
  return { events: `${namespace}events`, heartbeats: `${namespace}heartbeats` }
}

export function replicatedTopic(origin: string, topic: string): string {
  return `${origin}.${topic}`
}

/** Region ids have no dots, so the origin is whatever precedes the first one. */
export function originOfTopic(topic: string): string | undefined {
  const dot = topic.indexOf('.')
  return dot > 0 ? topic.slice(0, dot) : undefined
}
