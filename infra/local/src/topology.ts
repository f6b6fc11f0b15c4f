import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fleet, type RegionId } from '@meridian/core'
import {
  connectRedis,
  createPool,
  databaseUrl,
  migrate,
  redisUrl,
  withDatabase,
} from '@meridian/platform'
import { deletePrefix, recreateDatabase } from '@meridian/platform/dev'
import { regionDatabaseMigrations } from '@meridian/replication'
import { KafkaBroker } from './kafka/broker.ts'

/** What one local region owns: its Kafka cluster, its database and its Redis key prefix. */
export interface LocalRegion {
  readonly id: RegionId
  readonly kafka: KafkaBroker
  readonly databaseUrl: string
  readonly redisUrl: string
  readonly redisPrefix: string
}

export interface Topology {
  readonly regions: readonly LocalRegion[]
  /** The fleet-wide key prefix (not one region's): where the regions agree on processors. */
  readonly pinsPrefix: string
  readonly dataDir: string
  stop(): Promise<void>
}

export interface TopologyOptions {
  readonly log: (line: string) => void
  /** Database names are `<prefix>_<region>`; tests and drills use their own prefix. */
  readonly databasePrefix?: string
  readonly redisPrefix?: string
}

export function regionDatabaseName(prefix: string, region: RegionId): string {
  return `${prefix}_${region.replaceAll('-', '_')}`
}

/**
 * Start the skeleton every service runs on: one KRaft broker, one database (migrated) and one
 * Redis prefix per region in the fleet registry. On any failure, whatever did start is stopped.
 */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const { log } = options
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-topology-'))
  const ids = fleet.regions.map((r) => r.id)
  const started: KafkaBroker[] = []
  const stop = async () => {
    await Promise.allSettled(started.map((b) => b.destroy()))
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const brokers = await Promise.all(
      ids.map(async (id) => {
        const broker = await KafkaBroker.start({
          name: id,
          dataDir: join(dataDir, `kafka-${id}`),
          log,
        })
        started.push(broker)
        return broker
      }),
    )
    const regions = await Promise.all(
      ids.map(async (id, i): Promise<LocalRegion> => {
        const url = withDatabase(
          databaseUrl(),
          regionDatabaseName(options.databasePrefix ?? 'meridian', id),
        )
        // Each run starts empty: Kafka lives in a temp dir for the run, and a database that
        // remembered the last run's topic offsets would skip this run's events.
        await recreateDatabase(url)
        const pool = createPool({ url, poolSizeMax: 1 })
        try {
          const applied = await migrate(pool, regionDatabaseMigrations, id)
          log(
            `postgres ${id}: ${new URL(url).pathname.slice(1)} ready (${applied.length} migrations applied)`,
          )
        } finally {
          await pool.end()
        }
        const redisPrefix = `${options.redisPrefix ?? 'meridian'}:${id}:`
        const redis = await connectRedis(redisUrl())
        await deletePrefix(redis, redisPrefix)
        redis.disconnect()
        const kafka = brokers[i]
        if (!kafka) throw new Error(`no broker for ${id}`)
        return {
          id,
          kafka,
          databaseUrl: url,
          redisUrl: redisUrl(),
          redisPrefix,
        }
      }),
    )
    // Payment ids derive from requests, so a new run's payments may carry an old run's ids.
    const pinsPrefix = `${options.redisPrefix ?? 'meridian'}:pins:`
    const redis = await connectRedis(redisUrl())
    await deletePrefix(redis, pinsPrefix)
    redis.disconnect()
    return { regions, pinsPrefix, dataDir, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
