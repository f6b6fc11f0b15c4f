export * from './adapters/pins.ts'
/** The region process's settings: `regionSettings.fromEnv`, `.toEnv`, `.variables`, `.entryPoint`. */
export * as regionSettings from './config.ts'
export {
  kafkaAuths,
  logLevels,
  type ProcessSettings,
  processSettingsOf,
  processVariables,
  type RegionConfig,
  type RegionSettingsInput,
  type Role,
  regionDefaults,
  roles,
} from './config.ts'
export * from './ledger/store.ts'
export {
  applyConfigChanges,
  applyToDoc,
  configSummary,
  docContent,
  editDoc,
  loadConfig,
  type MerchantConfig,
} from './merchant-config.ts'
export { createMetrics, type Metrics } from './metrics.ts'
export { regionMigrations } from './migrations.ts'
export type { LookupResult, OperationResult, ProcessorAdapter } from './processors/adapter.ts'
export { ProcessorError } from './processors/adapter.ts'
export { breakerDefaults, CircuitBreaker } from './processors/breaker.ts'
export { ProcessorSet } from './processors/routing.ts'
export * from './region.ts'
// The column maps: replication's merge and digest take every column list from them.
export {
  type ReplicationConflict,
  type SeenStatuses,
  tables,
  type UsageSlot,
  unmappedTables,
  usageDayOf,
  type WriteClock,
} from './store/columns.ts'
export { type DuplicatePayment, listDuplicates } from './store/duplicates.ts'
export { getOperations, saveOperation } from './store/operations.ts'
export {
  getPaymentById,
  getRefunds,
  insertPaymentBatch,
  type NewPaymentWrite,
  saveRefund,
} from './store/payments.ts'
export type { Kind, Row } from './store/rows.ts'
export { getPaymentState } from './store/state.ts'
export type { Column, ColumnSet, Table, WriteSet } from './store/table.ts'
export {
  type KeyRing,
  keyRingFromText,
  keyRingToText,
  newKeyRingText,
} from './webhooks/secret-box.ts'
export { claimAttempt, pinProcessor } from './workflow/apply-change.ts'
// The workers' state transitions (pure functions of a payment's state), the breaker and the
// retry backoff: the money-path model (replication/src/sim/money) runs them as the workers do.
export type { Change } from './workflow/changes.ts'
export * as changes from './workflow/changes.ts'
