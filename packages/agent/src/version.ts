// The agent_version this agent reports: the package version, inlined by the
// bundler at build time so dist/main.js needs no package.json beside it.
import pkg from '../package.json' with { type: 'json' };

export const AGENT_VERSION: string = pkg.version;
