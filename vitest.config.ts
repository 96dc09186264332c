import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: { '@kanade/wire': fileURLToPath(new URL('./packages/wire/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Replica and failover tests need PostgreSQL: only `npm run test:postgres` (vitest.postgres.config.ts) runs them.
    exclude: [...configDefaults.exclude, 'packages/backend/test/scale-out/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
