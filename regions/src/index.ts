export * from './adapters/kafka.ts'
export * from './adapters/node-crypto.ts'
export { exitWithParent } from './adapters/parent-watch.ts'
export * from './adapters/pins.ts'
export * from './adapters/postgres.ts'
export * from './adapters/redis.ts'
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
export { type GroupCommitOptions, GroupCommitter, QueueFullError } from './group-commit.ts'
export * from './ledger/store.ts'
export * from './log.ts'
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
export { claimAttempt, pinProcessor } from './processing/apply.ts'
// The workers' state transitions (pure functions of a payment's state), the breaker and the
// retry backoff: the money-path model (replication/src/sim/money) runs them as the workers do.
export type { Change } from './processing/changes.ts'
export * as changes from './processing/changes.ts'
export type { LookupResult, OperationResult, ProcessorAdapter } from './processors/adapter.ts'
export { ProcessorError } from './processors/adapter.ts'
export { breakerDefaults, CircuitBreaker } from './processors/breaker.ts'
export { ProcessorSet } from './processors/registry.ts'
export { backoffMs, retryDefaults } from './processors/retry.ts'
export * from './region.ts'
export { type DuplicatePayment, listDuplicates } from './store/duplicates.ts'
export { getOperations, saveOperation } from './store/operations.ts'
export {
  getPaymentById,
  getRefunds,
  insertPaymentBatch,
  inTransaction,
  type NewPaymentWrite,
  saveRefund,
} from './store/payments.ts'
export {
  operationColumns,
  paymentColumns,
  refundColumns,
  rowToOperation,
  rowToPayment,
  rowToRefund,
} from './store/rows.ts'
export { getPaymentState, type PaymentState } from './store/state.ts'
export { ensureTopics } from './topics.ts'
export {
  type KeyRing,
  keyRingFromText,
  keyRingToText,
  newKeyRingText,
} from './webhooks/secret-box.ts'
