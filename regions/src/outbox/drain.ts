import { type PartitionMap, partitionFor } from '@meridian/core'
import type { BusAdmin, Logger } from '@meridian/platform'
import type { PartitionMapSource } from './partition-map.ts'

/**
 * Keeps each merchant's events in order across a partition-map change. When a merchant moves,
 * its new events wait until the consumer group has consumed its old partition up to where it
 * stood at the change; only then does it publish to the new one. Other merchants are not held.
 */
export class DrainGuard {
  private previous: PartitionMap | undefined
  private ends: Map<number, string> | undefined
  private capture: Promise<void> | undefined
  private readonly moved = new Set<string>()

  constructor(
    private readonly maps: PartitionMapSource,
    private readonly admin: BusAdmin,
    private readonly topic: string,
    /** The group whose progress defines "drained": the processor workers. */
    private readonly groupId: string,
    private readonly log: Logger,
  ) {
    let current = maps.current()
    maps.onChange((next) => {
      this.previous = current
      current = next
      this.moved.clear()
      // Where every partition ends now, before anything is published under the new map.
      this.capture = this.admin.endOffsets(this.topic).then((ends) => {
        this.ends = ends
      })
    })
  }

  /** Merchants among `merchants` whose rows must wait this round. */
  async held(merchants: ReadonlySet<string>): Promise<Set<string>> {
    await this.capture
    const previous = this.previous
    const ends = this.ends
    if (!previous || !ends) return new Set()
    const current = this.maps.current()
    const moving = [...merchants].filter(
      (m) => !this.moved.has(m) && partitionFor(previous, m) !== partitionFor(current, m),
    )
    if (moving.length === 0) return new Set()
    const committed = await this.admin.groupOffsets(this.groupId, this.topic)
    const held = new Set<string>()
    for (const m of moving) {
      const old = partitionFor(previous, m)
      const target = BigInt(ends.get(old) ?? '0')
      const done = BigInt(committed.get(old) ?? '-1')
      if (done >= target) {
        this.moved.add(m)
        this.log.info('merchant moved partitions after its old one drained', {
          merchant: m,
          from: old,
          to: partitionFor(current, m),
        })
      } else {
        held.add(m)
      }
    }
    return held
  }
}
