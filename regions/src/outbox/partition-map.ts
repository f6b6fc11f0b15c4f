import { existsSync, readFileSync } from 'node:fs'
import { defaultPartitionMap, type PartitionMap, parsePartitionMap } from '@meridian/core'
import type { Logger } from '@meridian/platform'

/** How often the map file is checked for a new version. */
export const partitionMapReloadMs = 1000

/**
 * The hot-merchant partition map, read from a JSON file and re-read while running: edit the file
 * (bump `version`) and relays and workers pick it up without a restart. A file that does not
 * parse is refused with an error in the log, and the last good map stays in force.
 */
export class PartitionMapSource {
  private map: PartitionMap
  private timer: NodeJS.Timeout | undefined
  private readonly listeners: ((map: PartitionMap) => void)[] = []

  constructor(
    private readonly file: string | undefined,
    partitions: number,
    private readonly log: Logger,
  ) {
    this.map = defaultPartitionMap(partitions)
    this.reload()
  }

  current(): PartitionMap {
    return this.map
  }

  onChange(listener: (map: PartitionMap) => void): void {
    this.listeners.push(listener)
  }

  reload(): boolean {
    if (!this.file || !existsSync(this.file)) return false
    let next: PartitionMap
    try {
      next = parsePartitionMap(JSON.parse(readFileSync(this.file, 'utf8')))
    } catch (error) {
      this.log.error('partition map refused; keeping the previous one', { file: this.file, error })
      return false
    }
    if (next.partitions !== this.map.partitions) {
      this.log.error('partition map names a different partition count than the topic; refused', {
        file: this.file,
        mapPartitions: next.partitions,
        topicPartitions: this.map.partitions,
      })
      return false
    }
    if (next.version === this.map.version) return false
    this.map = next
    this.log.info('partition map loaded', { version: next.version, hot: next.hot })
    for (const l of this.listeners) l(next)
    return true
  }

  start(): void {
    this.timer = setInterval(() => this.reload(), partitionMapReloadMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
