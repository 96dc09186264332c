// @kanade/wire: the contract shared with upstream kanade. No I/O here.
export * from './agent-config.js';
export * from './duration.js';
export * from './exec.js';
export * from './features.js';
export * from './manifest.js';
export * from './messages.js';
export * from './names.js';
export * from './releases.js';
export * from './schedule.js';
export * from './shape.js';
export * from './subjects.js';
export * from './time.js';
