export { dialects, type SimName, simNames } from './dialects.ts'
export type { SimStats } from './engine.ts'
export {
  defaultFaults,
  type RunningSimulator,
  type SimFaults,
  seededRandom,
  startSimulator,
} from './server.ts'
