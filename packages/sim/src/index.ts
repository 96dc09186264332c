// @kanade/sim: the fleet simulator as a library, for benchmarks and tests.
export { parseSimArgs, type SimCli } from './cli.js';
export type { CommandsOptions } from './commands.js';
export {
  AGENT_VERSIONS,
  createFleet,
  type Fleet,
  type FleetOptions,
  hostnameOf,
  OS_FAMILIES,
  type OsFamily,
  pcIdOf,
} from './fleet.js';
export { heartbeatJson, hostPerfJson, processPerfJson } from './messages.js';
export { createSimulator, type Simulator, type SimulatorOptions, type Summary } from './simulator.js';
