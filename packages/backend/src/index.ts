// @kanade/backend public surface: start a backend in-process (tests, benchmarks).
export { type Config, ConfigError, loadConfig } from './config.js';
export { createLogger } from './log.js';
export { type Backend, startBackend, VERSION } from './server.js';
