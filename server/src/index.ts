import { ConfigError, loadConfig, redactConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

/** mediasoup 3.20+ needs Node 22; `npm start` provides it, a hand-written service may not. */
const MIN_NODE_MAJOR = 22;

async function main(): Promise<void> {
  if (Number(process.versions.node.split('.')[0]) < MIN_NODE_MAJOR) {
    process.stderr.write(
      `conclave: this is Node ${process.version}; Conclave needs Node ${MIN_NODE_MAJOR} or newer (start it with \`npm start\`, ` +
        `or install the Node it provides: install -m 755 "$(node scripts/node-runtime.mjs)" /usr/local/bin/node)\n`,
    );
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`conclave: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL);
  log.info({ config: redactConfig(config) }, 'configuration');

  // Signal handlers go in before anything is announced: a supervisor that sends SIGTERM the moment it
  // reads "serving" (or during startup) must get a clean shutdown, not the default kill.
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let stopRequested: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopRequested) return;
    stopRequested = signal;
    log.info({ signal }, 'shutting down');
    const forced = setTimeout(() => process.exit(1), 10_000);
    forced.unref();
    if (server) closeAndExit(server);
  };
  const closeAndExit = (running: NonNullable<typeof server>): void => {
    void running.close().then(() => {
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  server = await startServer(config, log);
  if (stopRequested) {
    closeAndExit(server);
    return;
  }
  log.info(`Conclave is serving ${server.url}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`conclave: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
