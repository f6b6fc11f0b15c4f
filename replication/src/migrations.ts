import { fileURLToPath } from 'node:url'
import type { MigrationSet } from '@meridian/platform'
import { regionMigrations } from '@meridian/regions/replication'

/** Replication's bookkeeping tables, in the region's database. */
export const replicationMigrations: MigrationSet = {
  name: 'replication',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
  // Its tables were created by regions' 0005, recorded by its bare name, until they moved here.
  createdBefore: { '0001_replication.sql': '0005_replication.sql' },
}

/** Everything a region's database holds, in the order it is built: the region's tables, then replication's. */
export const regionDatabaseMigrations: readonly MigrationSet[] = [
  regionMigrations,
  replicationMigrations,
]
