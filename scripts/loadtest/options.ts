import { existsSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { CHROMIUM_PATH } from './chromium.js';
import type { Thresholds } from './stats.js';
import { PARTICIPANTS_PER_THREAD } from './synthetic/SyntheticPool.js';
import type { RunSettings } from './types.js';

export interface LoadTestOptions extends RunSettings {
  chromium: string;
  outDir: string;
  metricsUrl: string;
  metricsToken: string | undefined;
  /** The server's AUTH_SECRET: each bot then joins with a token signed for its room and name. */
  authSecret: string | undefined;
  thresholds: Thresholds;
  /** Print the live progress line (off when stdout is not a terminal, except every few seconds). */
  quiet: boolean;
}

export const HELP = `Usage: npm run loadtest -- [options]

Joins headless-Chromium bots (fake camera and microphone) to a Conclave server through its
public URL, measures what each bot receives, and reads the server's /metrics while it runs.

Where and who
  --url URL            server to test (default http://localhost:3000)
  --room NAME          room to join (default loadtest)
  --rooms N            spread bots over N rooms: NAME-1 … NAME-N (default 1)
  --participants N     bots per room (default 4)
  --senders N          bots per room that publish camera + microphone; the rest only receive
                       (cam=0&mic=0). Default: all of them
  --bot-prefix TEXT    bot name prefix; give each load machine its own (default bot)
  --auth-secret S      the server's AUTH_SECRET, when it requires join tokens: each bot joins
                       with a token signed for its room and name (default: $AUTH_SECRET)

Synthetic participants (no browser: a WebRTC stack in Node, pre-encoded media, nothing decoded)
  --synthetic N        add N synthetic participants per room, after the bots (default 0)
  --synthetic-senders M  of them, M publish a camera (VP8 simulcast, 3 layers) and a
                       microphone (Opus); the rest only receive (default 0)
  --synthetic-videos K each receives every microphone and the lowest layer of at most K
                       videos, as a small window would; the rest are paused (default 16)
  --synthetic-join-rate R  synthetic participants started per second (default 5)
  --synthetic-threads T    worker threads they run in (default: one per ${PARTICIPANTS_PER_THREAD},
                       at most one per core)

How
  --duration S         seconds to measure once every bot receives every camera (default 30)
  --settle S           wait at most S seconds after the last join for that (default 30);
                       past it, measure anyway and report who is missing what
  --join-rate R        bots started per second (default 1)
  --per-browser N      pages per Chromium process (default 4)
  --video-file FILE    .y4m or .mjpeg the fake camera plays instead of its test pattern
  --viewport WxH       the bots' window size (default 1280x720): how many tiles show, how big
  --query KEY=VALUE    extra URL parameter for every bot, repeatable (adaptive=0, pageSize=16…)
  --chromium PATH      Chromium binary (default ${CHROMIUM_PATH})
  --metrics-url URL    server metrics (default URL/metrics)
  --metrics-token T    bearer token for the metrics (default: $METRICS_TOKEN)

Output and pass/fail
  --out DIR            where results.json and report.html go
                       (default loadtest-results/<timestamp>/)
  --max-join-ms MS     fail (exit 1) if any bot took longer to join
  --min-fps F          fail if any bot received less than F fps on average
  --max-loss PCT       fail if any bot lost more than PCT % of packets
  --quiet              no live progress line
  --help               this text

Several machines can load one server at once (each with its own --bot-prefix); combine their
results.json files with: npm run loadtest:merge -- --out DIR a/results.json b/results.json
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function number(name: string, raw: string | undefined, fallback: number, { min = 0, integer = false } = {}): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

function optionalNumber(name: string, raw: string | undefined): number | null {
  return raw === undefined ? null : number(name, raw, 0);
}

/** The pass/fail flags, shared by the load test and the merge. */
export const THRESHOLD_OPTIONS = {
  'max-join-ms': { type: 'string' },
  'min-fps': { type: 'string' },
  'max-loss': { type: 'string' },
} as const;

export function parseThresholds(values: { 'max-join-ms'?: string; 'min-fps'?: string; 'max-loss'?: string }): Thresholds {
  return {
    maxJoinMs: optionalNumber('max-join-ms', values['max-join-ms']),
    minFps: optionalNumber('min-fps', values['min-fps']),
    maxLossPct: optionalNumber('max-loss', values['max-loss']),
  };
}

export function timestampDir(now = new Date()): string {
  return `loadtest-results/${now
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d{3}Z$/, 'Z')}`;
}

/** Parses the command line; returns null for --help. Throws UsageError on anything invalid. */
export function parseOptions(argv: string[], env: Record<string, string | undefined> = process.env): LoadTestOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        room: { type: 'string' },
        rooms: { type: 'string' },
        participants: { type: 'string' },
        senders: { type: 'string' },
        duration: { type: 'string' },
        settle: { type: 'string' },
        'join-rate': { type: 'string' },
        synthetic: { type: 'string' },
        'synthetic-senders': { type: 'string' },
        'synthetic-videos': { type: 'string' },
        'synthetic-join-rate': { type: 'string' },
        'synthetic-threads': { type: 'string' },
        'per-browser': { type: 'string' },
        'video-file': { type: 'string' },
        viewport: { type: 'string' },
        query: { type: 'string', multiple: true },
        'bot-prefix': { type: 'string' },
        chromium: { type: 'string' },
        'metrics-url': { type: 'string' },
        'metrics-token': { type: 'string' },
        'auth-secret': { type: 'string' },
        out: { type: 'string' },
        ...THRESHOLD_OPTIONS,
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.help) return null;

  const url = parsed.url ?? 'http://localhost:3000';
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http(s) URL (got ${JSON.stringify(url)})`);
  const room = parsed.room ?? 'loadtest';
  if (!/^[A-Za-z0-9_.-]{1,60}$/.test(room)) throw new UsageError('--room: 1–60 letters, digits, "-", "_", "."');
  const roomCount = number('rooms', parsed.rooms, 1, { min: 1, integer: true });
  const syntheticPerRoom = number('synthetic', parsed.synthetic, 0, { min: 0, integer: true });
  // Only synthetic participants is a run too (measuring the load machine itself, say).
  const participantsPerRoom = number('participants', parsed.participants, 4, { min: syntheticPerRoom > 0 ? 0 : 1, integer: true });
  const syntheticSenders = number('synthetic-senders', parsed['synthetic-senders'], 0, { min: 0, integer: true });
  if (syntheticSenders > syntheticPerRoom) throw new UsageError('--synthetic-senders cannot exceed --synthetic');
  const totalSynthetic = syntheticPerRoom * roomCount;
  const synthetic =
    syntheticPerRoom === 0
      ? undefined
      : {
          perRoom: syntheticPerRoom,
          sendersPerRoom: syntheticSenders,
          maxVideos: number('synthetic-videos', parsed['synthetic-videos'], 16, { min: 0, integer: true }),
          joinRate: number('synthetic-join-rate', parsed['synthetic-join-rate'], 5, { min: 0.01 }),
          threads: number('synthetic-threads', parsed['synthetic-threads'], Math.min(os.cpus().length, Math.ceil(totalSynthetic / PARTICIPANTS_PER_THREAD)), {
            min: 1,
            integer: true,
          }),
        };
  const sendersPerRoom = number('senders', parsed.senders, participantsPerRoom, { min: 0, integer: true });
  if (sendersPerRoom > participantsPerRoom) throw new UsageError('--senders cannot exceed --participants');
  const botPrefix = parsed['bot-prefix'] ?? 'bot';
  if (!/^[A-Za-z0-9_.-]{1,24}$/.test(botPrefix)) throw new UsageError('--bot-prefix: 1–24 letters, digits, "-", "_", "."');
  const videoFile = parsed['video-file'] ?? null;
  if (videoFile !== null) {
    if (!/\.(y4m|mjpeg)$/i.test(videoFile)) throw new UsageError('--video-file must be a .y4m or .mjpeg file');
    if (!existsSync(videoFile)) throw new UsageError(`--video-file ${videoFile} does not exist`);
  }
  const viewport = /^(\d{2,5})x(\d{2,5})$/.exec(parsed.viewport ?? '1280x720');
  if (!viewport) throw new UsageError('--viewport must look like 1280x720');
  const query: Record<string, string> = {};
  for (const pair of parsed.query ?? []) {
    const match = /^([A-Za-z][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (!match || ['room', 'name'].includes(match[1]!)) throw new UsageError(`--query takes KEY=VALUE, not room or name (got ${JSON.stringify(pair)})`);
    query[match[1]!] = match[2]!;
  }
  const authSecret = parsed['auth-secret'] ?? env.AUTH_SECRET;
  if (authSecret !== undefined && authSecret.length < 16)
    throw new UsageError('--auth-secret (or $AUTH_SECRET) must be at least 16 characters, as the server requires');
  const chromium = parsed.chromium ?? CHROMIUM_PATH;
  if (participantsPerRoom > 0 && !existsSync(chromium)) throw new UsageError(`no Chromium at ${chromium} (apt-get install chromium, or --chromium PATH)`);

  return {
    url: url.replace(/\/$/, ''),
    rooms: roomCount === 1 ? [room] : Array.from({ length: roomCount }, (_, i) => `${room}-${i + 1}`),
    participantsPerRoom,
    sendersPerRoom,
    durationSeconds: number('duration', parsed.duration, 30, { min: 1 }),
    settleSeconds: number('settle', parsed.settle, 30, { min: 0 }),
    joinRate: number('join-rate', parsed['join-rate'], 1, { min: 0.01 }),
    perBrowser: number('per-browser', parsed['per-browser'], 4, { min: 1, integer: true }),
    videoFile,
    botPrefix,
    viewport: { width: Number(viewport[1]), height: Number(viewport[2]) },
    query,
    ...(synthetic ? { synthetic } : {}),
    chromium,
    outDir: parsed.out ?? timestampDir(),
    metricsUrl: parsed['metrics-url'] ?? `${url.replace(/\/$/, '')}/metrics`,
    metricsToken: parsed['metrics-token'] ?? env.METRICS_TOKEN,
    authSecret,
    thresholds: parseThresholds(parsed),
    quiet: parsed.quiet ?? false,
  };
}
