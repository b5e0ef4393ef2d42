import { parseConfig, type Config } from '../../server/src/config.js';
import { createLogger } from '../../server/src/logger.js';
import { startServer, type ConclaveServer } from '../../server/src/server.js';

/** A real Conclave server on ephemeral HTTP and media ports, with real mediasoup workers. */
export async function startTestServer(overrides: Record<string, string> = {}): Promise<ConclaveServer & { config: Config }> {
  const config = parseConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HTTP_HOST: '127.0.0.1',
    RTC_PORT: '0',
    NUM_WORKERS: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  const server = await startServer(config, createLogger(config.LOG_LEVEL, false));
  return Object.assign(server, { config });
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
