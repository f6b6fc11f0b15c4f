import { fileURLToPath } from 'node:url'
import type { MigrationSet } from '@meridian/platform'

/** The region's own tables: payments, refunds, the ledger, the outbox, webhooks, merchant configs. */
export const regionMigrations: MigrationSet = {
  name: 'regions',
  dir: fileURLToPath(new URL('../migrations', import.meta.url)),
  // Before replication had its own migrations, every file here was recorded by its bare name.
  claimsBareVersions: true,
}
