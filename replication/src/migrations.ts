import { fileURLToPath } from 'node:url'
import type { MigrationSet } from '@meridian/platform'
import { regionMigrations } from '@meridian/regions'

/** Replication's bookkeeping tables, in the region's database. */
export const replicationMigrations: MigrationSet = {
  name: 'replication',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
}

/** Everything a region's database holds, in the order it is built: the region's tables, then replication's. */
export const regionDatabaseMigrations: readonly MigrationSet[] = [
  regionMigrations,
  replicationMigrations,
]
