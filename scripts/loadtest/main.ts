import { writeOutputs } from './output.js';
import { HELP, parseOptions, UsageError, type LoadTestOptions } from './options.js';
import { runLoadTest } from './run.js';

/** How the live status is shown: rewritten in place on a terminal, a line every 5 s otherwise. */
function progressPrinter(options: LoadTestOptions): ((line: string) => void) | undefined {
  if (options.quiet) return undefined;
  if (process.stdout.isTTY) {
    return (line) => process.stdout.write(`\r\x1b[K${line.slice(0, (process.stdout.columns || 200) - 1)}`);
  }
  let last = 0;
  return (line) => {
    if (Date.now() - last < 5000) return;
    last = Date.now();
    process.stdout.write(`${line}\n`);
  };
}

/** `npm run loadtest -- …`: returns the exit code (0 passed, 1 a threshold missed, 2 bad usage). */
export async function loadTestCli(argv: string[]): Promise<number> {
  let options: LoadTestOptions | null;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`loadtest: ${error.message}\n\n${HELP}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(HELP);
    return 0;
  }
  const bots = options.rooms.length * options.participantsPerRoom;
  process.stdout.write(
    `Load test: ${bots} bots (${options.rooms.length} room(s) × ${options.participantsPerRoom}, ${options.sendersPerRoom} sending) → ${options.url}, ` +
      `${options.joinRate}/s, ${options.perBrowser} per Chromium, ${options.durationSeconds} s once every bot receives every camera (waiting ≤ ${options.settleSeconds} s)\n`,
  );
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write('\nStopping early (Ctrl-C again to quit at once); writing what was measured…\n');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  try {
    const result = await runLoadTest(options, { onProgress: progressPrinter(options), signal: stop.signal });
    if (process.stdout.isTTY && !options.quiet) process.stdout.write('\n');
    const output = writeOutputs(options.outDir, result, options.thresholds);
    process.stdout.write(`\n${output.text}\nResults: ${output.json}\nReport:  ${output.html}\n`);
    return output.missed.length ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
  }
}
