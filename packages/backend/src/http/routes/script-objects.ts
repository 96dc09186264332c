// Script objects: the same routes as app packages (routes/app-packages.ts)
// over the `scripts` store, capped at 4 MiB (413 above). A manifest names
// one in `execute.script_object` as `name/version`; exec puts its SHA-256
// into every Command and the agent refuses a body with another digest.
import { packageRoutes } from './app-packages.js';

export const scriptObjectRoutes = packageRoutes({
  base: '/api/script-objects',
  what: 'script object',
  schemaId: 'ScriptObject',
  service: (s) => s.scriptObjects,
});
