// @kanade/agent: the agent as a library (the backend runs one for its own host).
export { type Agent, type AgentOptions, createAgent, defaultStateDir } from './agent.js';
export { type AgentCli, parseAgentArgs } from './cli.js';
export { type Identity, type OsFamily, pcIdFromHostname } from './identity.js';
export { AGENT_VERSION } from './version.js';
