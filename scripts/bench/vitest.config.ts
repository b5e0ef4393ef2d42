import { defineConfig } from 'vitest/config';

/** Measurements, not tests: run on purpose (`npx vitest run --config scripts/bench/vitest.config.ts`), never by `npm test`. */
export default defineConfig({
  test: {
    include: ['scripts/bench/*.bench.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
