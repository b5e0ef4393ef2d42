import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeOutputs } from './output.js';
import { parseThresholds, THRESHOLD_OPTIONS, timestampDir, UsageError } from './options.js';
import { REPEAT_HEADER, repeatRow, summarizeRepeats } from './repeats.js';
import type { RunResult, SyntheticSettings } from './types.js';

function isRunResult(value: unknown): value is RunResult {
  return typeof value === 'object' && value !== null && 'tool' in value && value.tool === 'conclave-loadtest' && 'version' in value && value.version === 1;
}

/**
 * The machines' synthetic participants as one set: counts, join rates and threads add up (each
 * machine ran its own beside the others); `maxVideos` is the largest any machine used, so it stays a
 * true "at most".
 */
function mergeSyntheticSettings(results: RunResult[]): SyntheticSettings | undefined {
  const all = results.flatMap((result) => (result.settings.synthetic ? [result.settings.synthetic] : []));
  if (all.length === 0) return undefined;
  const sum = (pick: (settings: SyntheticSettings) => number): number => all.reduce((total, settings) => total + pick(settings), 0);
  return {
    perRoom: sum((settings) => settings.perRoom),
    sendersPerRoom: sum((settings) => settings.sendersPerRoom),
    maxVideos: Math.max(...all.map((settings) => settings.maxVideos)),
    joinRate: sum((settings) => settings.joinRate),
    threads: sum((settings) => settings.threads),
  };
}

/**
 * Several machines' results of one test against one server, as one. Bots and synthetic participants
 * are pooled; the steady window starts once every machine's participants had joined; server samples
 * from all pollers are merged in time order (they read the same cumulative counters, so differences
 * between them stay valid).
 */
export function mergeResults(results: RunResult[]): RunResult {
  const [first] = results;
  if (!first) throw new UsageError('nothing to merge');
  const names = new Set<string>();
  for (const participant of results.flatMap((result) => [...result.bots, ...(result.synthetic ?? [])])) {
    if (names.has(participant.name)) throw new UsageError(`participant name ${participant.name} appears twice: give each machine its own --bot-prefix`);
    names.add(participant.name);
  }
  const syntheticSettings = mergeSyntheticSettings(results);
  const anySynthetic = results.some((result) => result.synthetic !== undefined);
  const rooms = [...new Set(results.flatMap((result) => result.settings.rooms))];
  return {
    tool: 'conclave-loadtest',
    version: 1,
    startedAt: Math.min(...results.map((result) => result.startedAt)),
    endedAt: Math.min(...results.map((result) => result.endedAt)),
    allJoinedAt: Math.max(...results.map((result) => result.allJoinedAt)),
    // Each machine saw only its own bots settle: the merged room settled when the last of them did.
    settledAt: results.every((result) => result.settledAt != null) ? Math.max(...results.map((result) => result.settledAt!)) : null,
    settings: {
      ...first.settings,
      rooms,
      participantsPerRoom: results.reduce((sum, result) => sum + result.settings.participantsPerRoom, 0),
      sendersPerRoom: results.reduce((sum, result) => sum + result.settings.sendersPerRoom, 0),
      botPrefix: results.map((result) => result.settings.botPrefix).join('+'),
      ...(syntheticSettings ? { synthetic: syntheticSettings } : {}),
    },
    sources: results.flatMap((result) => result.sources),
    bots: results.flatMap((result) => result.bots),
    server: results.flatMap((result) => result.server).sort((a, b) => a.t - b.t),
    serverMetricsError: results.every((result) => result.serverMetricsError !== null) ? first.serverMetricsError : null,
    ...(anySynthetic ? { synthetic: results.flatMap((result) => result.synthetic ?? []) } : {}),
  };
}

export const MERGE_HELP = `Usage: npm run loadtest:merge -- [--out DIR] [--max-join-ms MS] [--min-fps F] [--max-loss PCT] results.json…
       npm run loadtest:merge -- --repeats LABEL [--min-fps F] [--max-loss PCT] results.json…

Combines the results.json of load-test runs made at the same time from several machines (each
with its own --bot-prefix) into one results.json, report.html and summary.

With --repeats, the files are the same test run several times instead: it prints one markdown
row (after the header) with how many runs passed and each figure's median over the runs.
`;

/** `npm run loadtest:merge -- …`: exit 0, 1 when a threshold is missed, 2 on bad usage. */
export function mergeCli(argv: string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        ...THRESHOLD_OPTIONS,
        repeats: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(MERGE_HELP);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('give at least one results.json');
    const results = positionals.map((file) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!isRunResult(parsed)) throw new UsageError(`${file} is not a Conclave load-test results.json`);
      return parsed;
    });
    if (values.repeats !== undefined) {
      process.stdout.write(`${REPEAT_HEADER}\n${repeatRow(summarizeRepeats(values.repeats, results, parseThresholds(values)))}\n`);
      return 0;
    }
    const output = writeOutputs(values.out ?? `${timestampDir()}-merged`, mergeResults(results), parseThresholds(values));
    process.stdout.write(`${output.text}\nResults: ${output.json}\nReport:  ${output.html}\n`);
    return output.missed.length ? 1 : 0;
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    process.stderr.write(`loadtest:merge: ${error.message}\n\n${MERGE_HELP}`);
    return 2;
  }
}
