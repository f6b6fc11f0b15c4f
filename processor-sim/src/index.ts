export { dialects, type SimName, simNames } from './dialects.ts'
export { type Charge, SimEngine, type SimStats } from './engine.ts'
export {
  defaultFaults,
  type RunningSimulator,
  type SimFaults,
  startSimulator,
} from './server.ts'
/** The simulators' process settings: `simulatorSettings.fromEnv`, `.toEnv`, `.entryPoint`. */
export * as simulatorSettings from './settings.ts'
