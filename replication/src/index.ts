/** The replication process's settings: `replicationSettings.fromEnv`, `.toEnv`, `.variables`, … */
export * as replicationSettings from './config.ts'
export {
  type ReplicationConfig,
  type ReplicationSettingsInput,
  replicationDefaults,
} from './config.ts'
export { type StateDigest, stateDigest, stateLines } from './digest.ts'
export { applyEvents } from './merge-events.ts'
export { createReplicationMetrics, type ReplicationMetrics } from './metrics.ts'
export { regionDatabaseMigrations, replicationMigrations } from './migrations.ts'
export { dedupeRetentionMs, pruneAppliedRecords } from './retention.ts'
export { type RunningReplication, startReplication } from './service.ts'
export { replicationStatus } from './status.ts'
export { originOfTopic, replicatedTopic } from './topics.ts'
