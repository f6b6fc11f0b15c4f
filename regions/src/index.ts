export * from './adapters/kafka.ts'
export * from './adapters/node-crypto.ts'
export { exitWithParent } from './adapters/parent-watch.ts'
export * from './adapters/pins.ts'
export * from './adapters/postgres.ts'
export * from './adapters/redis.ts'
export * from './config.ts'
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
export type { ProcessorAdapter } from './processors/adapter.ts'
export { ProcessorError } from './processors/adapter.ts'
export { ProcessorSet } from './processors/registry.ts'
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
