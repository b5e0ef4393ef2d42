import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../../server/src/config.js';
import { createLogger } from '../../../server/src/logger.js';
import { startServer, type ConclaveServer } from '../../../server/src/server.js';
import { patternClip } from '../../../test/helpers/media.js';
import { Bot } from '../../loadtest/bot.js';
import { launchChromium } from '../../loadtest/chromium.js';
import { percentile } from '../../loadtest/distribution.js';
import { timeNewcomer, type NewcomerRun, type Phases } from './newcomer.js';
import { benchOptions } from '../cliOptions.js';

/**
 * `npm run bench:join`: how long a newcomer waits to see everyone. A server in this process on
 * ephemeral ports; for each room size N, N residents (headless Chromium, camera and microphone, the
 * load-test bots) sit in one room, and newcomers arrive one at a time, each timed from navigation
 * start to every resident's camera presenting a frame (newcomer.ts). Prints p50/p95 per size and
 * the median moment of each phase; writes everything as JSON.
 */

interface Options {
  /** Client builds whose newcomers take turns (label and dist); empty: the one the server serves. */
  clients: { label: string; dist: string }[];
  sizes: number[];
  runs: number;
  warmup: number;
  publish: boolean;
  stepSeconds: number;
  out: string;
}

const HELP = `Usage: npm run bench:join -- [--sizes 1,3,7] [--runs K (default 7)] [--warmup W (default 1, not counted)]
  [--receive-only (the newcomer joins with cam=0&mic=0)] [--step-seconds S (default 30)] [--out DIR]
  [--clients before=/path/to/dist,after=client/dist (newcomers of each build take turns)]
CONCLAVE_TEST_CLIENT_DIST serves a client built elsewhere (default client/dist).`;

const VIEWPORT = { width: 1280, height: 720 };
/** After a newcomer leaves, the residents settle (consumers of it closed) before the next one. */
const BETWEEN_RUNS_MS = 1000;

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      'receive-only': { type: 'boolean' },
      'step-seconds': { type: 'string' },
      clients: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const sizes = (values.sizes ?? '1,3,7').split(',').map((size) => {
    const count = Number(size);
    if (!Number.isInteger(count) || count < 1 || count > 24) throw new Error(`--sizes: ${size} is not a room size from 1 to 24`);
    return count;
  });
  const whole = (value: string | undefined, fallback: number, name: string, least: number): number => {
    const parsed = Number(value ?? fallback);
    if (!Number.isInteger(parsed) || parsed < least) throw new Error(`--${name} must be a whole number ≥ ${least}`);
    return parsed;
  };
  const clients = (values.clients ?? '')
    .split(',')
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [label, dist] = entry.split('=');
      if (!label || !dist || !existsSync(path.join(dist, 'index.html'))) throw new Error(`--clients: ${entry} is not label=dir of a client build`);
      return { label, dist };
    });
  return {
    clients,
    sizes,
    runs: whole(values.runs, 7, 'runs', 1),
    warmup: whole(values.warmup, 1, 'warmup', 0),
    publish: !(values['receive-only'] ?? false),
    stepSeconds: whole(values['step-seconds'], 30, 'step-seconds', 5),
    out: values.out ?? path.join('bench-results', `join-${new Date().toISOString().replace(/[:.]/g, '-')}`),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number | null): number | null => (value === null ? null : Math.round(value));

/** Resolves once every resident's camera is encoding (the newcomer must find them all publishing). */
async function residentsPublishing(residents: Bot[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await Promise.all(residents.map((bot) => bot.sample()));
    const quiet = residents.filter((bot) => {
      const last = bot.record.samples.at(-1);
      return !last?.producers.some((producer) => producer.source === 'camera' && (producer.framesEncoded ?? 0) > 0);
    });
    if (quiet.length === 0) return;
    if (Date.now() > deadline) throw new Error(`residents not publishing their cameras: ${quiet.map((bot) => bot.plan.name).join(', ')}`);
    await sleep(500);
  }
}

/** Adds or removes residents until there are `size`; a resident that fails to join stops the bench. */
async function seat(residents: Bot[], size: number, browser: Browser, url: string, room: string, stepMs: number): Promise<void> {
  while (residents.length > size) await residents.pop()!.close();
  while (residents.length < size) {
    const bot = new Bot({ name: `Resident ${residents.length + 1}`, room, sender: true });
    residents.push(bot);
    await bot.join(browser, { url, viewport: VIEWPORT, query: {} });
    if (bot.record.error !== null) throw new Error(`${bot.plan.name} could not join: ${bot.record.error}`);
  }
  await residentsPublishing(residents, stepMs);
}

type PhaseMedians = Record<keyof Phases, number | null>;

export interface SizeSummary {
  client: string;
  size: number;
  runs: number;
  failed: number;
  p50: number | null;
  p95: number | null;
  min: number | null;
  max: number | null;
  /** The median moment of each phase over the successful runs (ms since navigation start). */
  phases: PhaseMedians;
}

function summarise(client: string, size: number, runs: NewcomerRun[]): SizeSummary {
  const done = runs.filter((run) => run.totalMs !== null);
  const totals = done.map((run) => run.totalMs!);
  const phases = Object.fromEntries(
    (Object.keys(runs[0]?.phases ?? {}) as (keyof Phases)[]).map((key) => {
      const values = done.map((run) => run.phases[key]).filter((value): value is number => value !== null);
      return [key, round(percentile(values, 50))];
    }),
  ) as PhaseMedians;
  return {
    client,
    size,
    runs: runs.length,
    failed: runs.length - done.length,
    p50: round(percentile(totals, 50)),
    p95: round(percentile(totals, 95)),
    min: totals.length ? round(Math.min(...totals)) : null,
    max: totals.length ? round(Math.max(...totals)) : null,
    phases,
  };
}

function table(summaries: SizeSummary[]): string {
  const phaseNames = Object.keys(summaries[0]?.phases ?? {}) as (keyof Phases)[];
  const header = ['client', 'in room', 'runs (failed)', 'p50 ms', 'p95 ms', 'min–max ms', ...phaseNames.map((name) => `${name} p50`)];
  const rows = summaries.map((summary) => [
    summary.client,
    summary.size,
    `${summary.runs} (${summary.failed})`,
    summary.p50 ?? '-',
    summary.p95 ?? '-',
    `${summary.min ?? '-'}–${summary.max ?? '-'}`,
    ...phaseNames.map((name) => summary.phases[name] ?? '-'),
  ]);
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export async function joinCli(argv: string[]): Promise<number> {
  const parsed = benchOptions(argv, parseOptions, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  const say = (message: string): void => void process.stdout.write(`${message}\n`);
  const clientDist = process.env.CONCLAVE_TEST_CLIENT_DIST ?? path.resolve('client/dist');
  const config = parseConfig({
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LISTEN_IP: '127.0.0.1',
    RTC_PORT: '0',
    NUM_WORKERS: '1',
    LOG_LEVEL: process.env.CONCLAVE_BENCH_LOG_LEVEL ?? 'warn',
    CLIENT_DIST: clientDist,
    RATE_LIMIT_PER_SECOND: '1000',
  });
  const stepMs = options.stepSeconds * 1000;
  const out = options.out;
  const save = (results: object): string => {
    mkdirSync(out, { recursive: true });
    const file = path.join(out, 'join.json');
    writeFileSync(file, JSON.stringify(results, null, 2));
    return file;
  };
  const loadBefore = os.loadavg()[0]!;
  let server: ConclaveServer | undefined;
  const browsers: Browser[] = [];
  const residents: Bot[] = [];
  const runs: NewcomerRun[] = [];
  const summaries: SizeSummary[] = [];
  try {
    server = await startServer(config, createLogger(config.LOG_LEVEL, false));
    // A 640×360 pattern (two simulcast layers): seven residents encoding on a small machine stay
    // residents, not the load that decides the result.
    const clip = await patternClip();
    const residentsBrowser = await launchChromium({ videoFile: clip });
    browsers.push(residentsBrowser);
    // The newcomer in a browser of its own, as on another computer. A page the bench serves (--clients)
    // has no address space, so Chromium's Local Network Access checks would block its socket to loopback.
    const extraArgs = options.clients.length > 0 ? ['--disable-features=LocalNetworkAccessChecks'] : [];
    const newcomerBrowser = await launchChromium({ videoFile: clip, extraArgs });
    browsers.push(newcomerBrowser);
    const room = 'join-bench';
    let newcomers = 0;
    for (const size of options.sizes) {
      await seat(residents, size, residentsBrowser, server.url, room, stepMs);
      const plan = {
        url: server.url,
        room,
        residentIds: residents.map((bot) => bot.record.peerId!),
        publish: options.publish,
        viewport: VIEWPORT,
        stepMs,
      };
      const clients = options.clients.length > 0 ? options.clients : [undefined];
      const sizeRuns: NewcomerRun[] = [];
      for (let run = 1 - options.warmup; run <= options.runs; run++) {
        // Turns in alternating order: neither build always follows the other.
        for (const client of run % 2 === 0 ? [...clients].reverse() : clients) {
          const result = await timeNewcomer(newcomerBrowser, { ...plan, name: `Newcomer ${++newcomers}`, client }, size, run);
          const label = run < 1 ? 'warm-up' : `run ${run}`;
          say(
            `${client ? `${client.label}, ` : ''}${size} in room, ${label}: ${result.totalMs === null ? `FAILED (${result.error})` : `${Math.round(result.totalMs)} ms`}` +
              ` (join answer ${round(result.phases.joinAnswer) ?? '-'}, transport ${round(result.phases.recvConnected) ?? '-'}, first frame ${round(result.phases.firstFrame) ?? '-'})`,
          );
          if (run >= 1) sizeRuns.push(result);
          await sleep(BETWEEN_RUNS_MS);
        }
      }
      runs.push(...sizeRuns);
      const sizeSummaries: SizeSummary[] = [];
      for (const client of clients) {
        const label = client?.label ?? 'server';
        sizeSummaries.push(
          summarise(
            label,
            size,
            sizeRuns.filter((run) => run.client === label),
          ),
        );
      }
      summaries.push(...sizeSummaries);
      // Each size as it ends: a long run stopped later keeps what it measured.
      say(`\n${table(sizeSummaries)}\nload average (1 min) now ${Math.round(os.loadavg()[0]! * 10) / 10}\n`);
      save({ options, clientDist, loadBefore, summaries, runs });
    }
  } catch (error) {
    say(`bench:join stopped: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await Promise.allSettled(residents.map((bot) => bot.close()));
    await Promise.allSettled(browsers.map((browser) => browser.close()));
    await server?.close().catch(() => undefined);
  }

  // The machine's load is part of the result: browsers decoding on two cores wait for each other.
  const load = { before: Math.round(loadBefore * 10) / 10, after: Math.round(os.loadavg()[0]! * 10) / 10 };
  say(`\nnewcomer time to all videos (ms since navigation start); phases are median moments\n${table(summaries)}`);
  say(`client: ${clientDist}; load average (1 min) before ${load.before}, after ${load.after}`);
  say(`Results: ${save({ options, clientDist, load, summaries, runs })}`);
  const complete = summaries.length === options.sizes.length * Math.max(1, options.clients.length) && summaries.every((summary) => summary.failed === 0);
  return complete ? 0 : 1;
}
