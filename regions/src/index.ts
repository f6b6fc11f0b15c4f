export * from './adapters/pins.ts'
/** The region process's settings: `regionSettings.fromEnv`, `.toEnv`, `.variables`, `.entryPoint`. */
export * as regionSettings from './config.ts'
export { type RegionConfig, type RegionSettingsInput, type Role, roles } from './config.ts'
export * from './ledger/store.ts'
export { createMetrics, type Metrics } from './metrics.ts'
export * from './region.ts'
// Everything replication may use (column maps, merchant configs, process settings, the workers'
// transitions and processor contract) is the region's API too: one list, not two.
export * from './replication-api.ts'
export {
  type SeenStatuses,
  type UsageSlot,
  unmappedTables,
  type WriteClock,
} from './store/columns.ts'
export type { DuplicatePayment } from './store/duplicates.ts'
export { getOperations } from './store/operations.ts'
export {
  getPaymentById,
  getRefunds,
  insertPaymentBatch,
  type NewPaymentWrite,
  type RoutedPaymentWrite,
} from './store/payments.ts'
export type { Kind } from './store/rows.ts'
export { getPaymentState } from './store/state.ts'
export type { Column, ColumnSet, WriteSet } from './store/table.ts'
export {
  type KeyRing,
  keyRingFromText,
  keyRingToText,
  newKeyRingText,
} from './webhooks/secret-box.ts'
export { claimAttempt, pinProcessor } from './workflow/apply-change.ts'
