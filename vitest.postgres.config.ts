// `npm run test:postgres` (scripts/test-postgres.mjs): the tests that touch the
// store, against the PostgreSQL server KANADE_TEST_POSTGRES_URL names (every
// data dir gets its own database, test-support/db.ts). That is the backend
// suite, the replica and failover tests of scale-out/ (run only here), and the
// CLI tests that start a backend. Left on SQLite: the chaos disk-full test
// (it fills the disk under the SQLite file; PostgreSQL's data lives elsewhere)
// and the browser tests in e2e/ (they drive the same HTTP API the backend
// suite covers, through Chromium: minutes more for no store code of their own).
import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/backend/test/**/*.test.ts', 'packages/cli/test/**/*.integration.test.ts'],
    exclude: [...configDefaults.exclude, 'packages/backend/test/chaos/disk-full.test.ts'],
  },
});
