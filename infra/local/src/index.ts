export { setDatabaseReachable } from './database-access.ts'
export {
  drillEdgeSettings,
  drillRegionSettings,
  drillReplicationSettings,
} from './drill/topology.ts'
export {
  type EdgeOptions,
  type EdgeRuntime,
  edgeRuntimes,
  type LocalEdge,
  localEdgeVars,
  offlineEnv,
  parseEdgeRuntime,
} from './edge.ts'
export { startEdge } from './edge-start.ts'
export { type Gateway, type GatewayOptions, startGateway } from './gateway.ts'
export { type BrokerOptions, KafkaBroker } from './kafka/broker.ts'
export { KafkaSetupError, kafkaClasspath } from './kafka/classpath.ts'
export { canConnect, freePort } from './ports.ts'
export { describeProblems, findProblems, type Problem } from './prerequisites.ts'
export { repoRoot, type ServiceProcess, spawnService } from './processes.ts'
export {
  newEdgeSecret,
  type RegionAddress,
  type RegionRole,
  type RegionServices,
  regionApiPort,
  regionEnv,
  regionRoles,
  replicationEnv,
  type ServiceOptions,
  simulatorEnv,
  startRegionServices,
} from './services.ts'
export { type LocalRegion, regionDatabaseName, startTopology, type Topology } from './topology.ts'
export { startUpstashStandIn, type UpstashStandIn } from './upstash.ts'
/** The Upstash stand-in's process settings: `upstashSettings.toEnv`, `.entryPoint`, … */
export * as upstashSettings from './upstash-settings.ts'
