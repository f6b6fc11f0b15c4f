/**
 * Kafka topic names and sizes every region agrees on: the region services write their events to
 * `events`, replication reads it there and writes `heartbeats`, and each cluster holds, copied from
 * every other region, `<origin>.events` and `<origin>.heartbeats` (MirrorMaker 2 naming). Tests
 * put a namespace in front (`t_x_events`) so they can share brokers.
 */
export interface RegionTopics {
  readonly events: string
  readonly heartbeats: string
}

/** The one naming rule for a region's own topics, by namespace ('' in every deployment). */
export function topicsFor(namespace = ''): RegionTopics {
  return { events: `${namespace}events`, heartbeats: `${namespace}heartbeats` }
}

/**
 * Partitions of the events topic (and of its copies in other regions) when it is created; a topic
 * that exists keeps what it has. Regions and replication both create it, so both read this.
 */
export const eventsPartitionsDefault = 16

/**
 * The header of an events record naming its merchant's residency, as the origin region's placement
 * says when its relay publishes it (absent or 'global': anywhere). Replicators ship a merchant's
 * records only to regions inside it (placement events excepted: every region must hold those).
 */
export const residencyHeader = 'residency'
