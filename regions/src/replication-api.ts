/**
 * What replication may use of a region, and all of it: the only file of regions that
 * replication/ imports (`@meridian/regions/replication`; .dependency-cruiser.cjs enforces it).
 * Each group says why replication needs it; anything new here is a new coupling, so it should
 * have a reason as good.
 */

// The money-path model (replication/src/sim/money) runs the workers' own transitions, breaker,
// processor contract and routing, so that what it proves is about the code that runs.
export type { ProcessorPins } from './adapters/pins.ts'
// A replication process runs in a region: it reads the same process variables, from one spec.
export {
  kafkaAuths,
  logLevels,
  type ProcessSettings,
  processSettingsOf,
  processVariables,
  regionDefaults,
} from './config.ts'
// Merges write a region's tables exactly as the region does: the same column maps and writes.
export { writeEntries } from './ledger/store.ts'
// Merchant configuration is a CRDT the region edits and replication merges.
export {
  applyConfigChanges,
  applyToDoc,
  configSummary,
  docContent,
  editDoc,
  loadConfig,
  type MerchantConfig,
} from './merchant-config.ts'
export { regionMigrations } from './migrations.ts'
export type { LookupResult, OperationResult, ProcessorAdapter } from './processors/adapter.ts'
export { ProcessorError } from './processors/adapter.ts'
export { breakerDefaults, CircuitBreaker } from './processors/breaker.ts'
export { ProcessorSet } from './processors/routing.ts'
export {
  type ReplicationConflict,
  tables,
  usageDayOf,
} from './store/columns.ts'
export { listDuplicates } from './store/duplicates.ts'
export { saveOperation } from './store/operations.ts'
export { saveRefund } from './store/payments.ts'
// Placements replicate as merchant.placement_changed events and merge as a join, as the control
// plane's writes do.
export { joinPlacement } from './store/placements.ts'
export type { Row } from './store/rows.ts'
export type { Table } from './store/table.ts'
export type { Change } from './workflow/changes.ts'
export * as changes from './workflow/changes.ts'
