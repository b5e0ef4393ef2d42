import { defineConfig } from 'vitest/config';

/**
 * The heaviest browser files (six pages publishing simulcast; faults under a call; the load-test
 * bots) starved each other on two cores when paired — pages took over 30 s to load and joins over
 * 10 s — so they run one at a time after everything else, which runs two files at once.
 */
const ALONE = ['test/e2e/layers.test.ts', 'test/chaos/**/*.test.ts', 'test/loadtest/loadtest.test.ts'];

const shared = {
  environment: 'node',
  pool: 'forks',
  testTimeout: 60_000,
  hookTimeout: 120_000,
} as const;

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'paired', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { test: { ...shared, name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
