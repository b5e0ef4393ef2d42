import { defineConfig } from 'vitest/config';

/**
 * The heaviest browser files (six pages publishing simulcast; Firefox and Chromium both publishing
 * simulcast; faults under a call; the load-test bots; the network lab; recordings) starved each other on two
 * cores when paired — pages took over 30 s to load and joins over 10 s — so they run one at a time
 * after everything else, which runs two files at once.
 */
const ALONE = [
  'test/e2e/layers.test.ts',
  'test/e2e/firefox.test.ts',
  'test/chaos/**/*.test.ts',
  'test/loadtest/loadtest.test.ts',
  'test/loadtest/synthetic.test.ts',
  'test/netlab/**/*.test.ts',
  // Three cluster nodes in network namespaces and three pages at once.
  'test/cluster/failover.test.ts',
  // Three or four browsers and a compositor browser each: beside another browser file, the compositor
  // (at a lower priority, as in production) can take longer than its 45 s to start.
  'test/e2e/recording.test.ts',
  'test/e2e/recordingUi.test.ts',
];

const shared = {
  environment: 'node',
  pool: 'forks',
  // A worker process runs file after file with the modules it already imported (server, mediasoup,
  // zod schemas): imported once per worker instead of ~2 s of CPU per file. Every file starts its
  // own servers and browsers and closes them (test/helpers/server.ts), so no state carries over.
  isolate: false,
  testTimeout: 60_000,
  hookTimeout: 120_000,
} as const;

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: { ...shared, name: 'paired', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      { test: { ...shared, name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
