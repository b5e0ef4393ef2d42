import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { parseConfig, type Config } from '../../server/src/config.js';
import { createLogger } from '../../server/src/logger.js';
import { startServer, type ConclaveServer } from '../../server/src/server.js';

export type TestServer = ConclaveServer & { config: Config };

/**
 * The built browser client (`npm run build`), for servers that browser tests load the app from.
 * `CONCLAVE_TEST_CLIENT_DIST` points elsewhere, so that people working side by side can each test
 * their own build (`vite build --config client/vite.config.ts --outDir …`).
 */
export const CLIENT_DIST = process.env.CONCLAVE_TEST_CLIENT_DIST ?? path.resolve(import.meta.dirname, '../../client/dist');

/**
 * A real Conclave server on ephemeral HTTP and media ports, with real mediasoup workers. The caller
 * closes it; a whole file or describe block uses `useServer` instead.
 */
export async function startTestServer(overrides: Record<string, string> = {}): Promise<TestServer> {
  const config = parseConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HTTP_HOST: '127.0.0.1',
    RTC_PORT: '0',
    NUM_WORKERS: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Each server its own: one server's start-up tidying never meets another's running recording.
    RECORDINGS_DIR: mkdtempSync(path.join(os.tmpdir(), 'conclave-test-recordings-')),
    ...overrides,
  });
  const server = await startServer(config, createLogger(config.LOG_LEVEL, false));
  return Object.assign(server, { config });
}

/**
 * The one server of the enclosing describe block (or file): started before its tests, closed after
 * them (after the block's own afterAll hooks, which run first). Use the returned handle like the
 * server itself inside hooks and tests; `overrides` may be a function when they are made in a hook
 * (a certificate, a token secret).
 */
export function useServer(overrides: Record<string, string> | (() => Record<string, string>) = {}): TestServer {
  let started: TestServer | undefined;
  beforeAll(async () => {
    started = await startTestServer(typeof overrides === 'function' ? overrides() : overrides);
  });
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  return new Proxy({} as TestServer, {
    get(_, key) {
      if (!started) throw new Error(`the test server is not running (reading ${String(key)} outside a test or hook)`);
      const value: unknown = Reflect.get(started, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(started) : value;
    },
  });
}

/** Polls until `check` returns a truthy value or the deadline passes. */
export async function eventually<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Is a process with this pid still alive? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
