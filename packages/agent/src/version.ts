// The agent_version this agent reports: the package version, inlined by the
// bundler at build time so dist/main.js needs no package.json beside it. A
// release bundle (scripts/build-agent-release.mjs) is built with
// `__KANADE_AGENT_VERSION__` defined to the version it is published as, so
// the bundle reports exactly the version operators roll out.
import pkg from '../package.json' with { type: 'json' };

declare const __KANADE_AGENT_VERSION__: string | undefined;

export const AGENT_VERSION: string =
  typeof __KANADE_AGENT_VERSION__ === 'string' ? __KANADE_AGENT_VERSION__ : pkg.version;
