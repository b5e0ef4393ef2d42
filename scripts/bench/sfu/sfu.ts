import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadMedia, type CapturedStream } from './capture.js';
import { ConclavePath, MediasoupPath, ReceiverLink, type FanoutPath } from './fanout.js';
import { INSTRUCTIONS_HELP, parseInstructionOptions, runInstructions, type InstructionOptions } from './instructions.js';
import { socketDrops, workerCpuMs, workerWindows, type Reading, type WorkerWindow } from './measure.js';
import { ReceiverPool } from './receivers.js';
import { RtpReplayer } from './replay.js';

export interface BenchOptions {
  workers: number[];
  paths: FanoutPath['name'][];
  /** Consumers per worker, in order. */
  steps: number[];
  maxLossPct: number;
  /** A worker this busy (% of one core) is saturated: the step is the last. */
  saturatedCpuPct: number;
  windowSeconds: number;
  settleSeconds: number;
  secondsPerRun: number;
  receivers: number;
  /** Consumers send SRTP, as to browsers (default); off, plain RTP: the forwarding cost alone. */
  srtp: boolean;
  outDir: string;
}

export interface Step {
  consumersPerWorker: number;
  setupSeconds: number;
  workers: WorkerWindow[];
  /** Bench process CPU (sender, receivers, control), % of one core. */
  benchCpuPct: number;
  /** Of what should have arrived, % lost on the SFU's side: not forwarded, or dropped before the worker read it. */
  sfuLossPct: number;
  /** Of what should have arrived, % the SFU sent but the counting sockets dropped: this machine's limit, not the SFU's. */
  harnessLossPct: number;
  /** Datagrams the producers' sockets dropped unread: the worker falling behind on its input. */
  ingressDrops: number;
  passed: boolean;
}

export interface Run {
  path: FanoutPath['name'];
  workerCount: number;
  steps: Step[];
  /** Why stepping stopped. */
  stop: string;
}

export const DEFAULT_STEPS = [200, 300, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1600, 2000];

export const BENCH_HELP = `Usage: npm run bench:sfu -- [options]

SFU stress without browsers: real VP8 + Opus RTP (encoded once by ffmpeg) is replayed into a
PlainTransport producer per worker and fanned out to PlainTransport consumers (SRTP-encrypted, as
for browsers) that send to counting UDP sockets on loopback. The consumer count per worker steps up until loss passes --max-loss or a
worker saturates, (a) through Conclave's rooms and (b) with bare mediasoup, with 1 and 2 workers.

  --workers LIST      worker counts to run (default 1,2)
  --paths LIST        conclave,mediasoup (default both)
  --steps LIST        consumers per worker (default ${DEFAULT_STEPS.join(',')})
  --max-loss PCT      loss that ends the stepping (default 1)
  --window S          seconds measured per step (default 3)
  --seconds-per-run S time budget per path × worker count (default 60)
  --receivers N       counting threads (default 2)
  --plain-rtp         consumers send plain RTP instead of SRTP (the forwarding cost alone)
  --out DIR           where sfu.json and sfu.md go (default loadtest-results/sfu-<timestamp>)
  --instructions      count instructions under callgrind instead (below)
  --help

${INSTRUCTIONS_HELP}`;

function list(raw: string | undefined, fallback: number[], name: string): number[] {
  if (raw === undefined) return fallback;
  const values = raw.split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`--${name} takes positive integers, comma-separated`);
  return values;
}

export function parseBenchOptions(argv: string[]): BenchOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string' },
      paths: { type: 'string' },
      steps: { type: 'string' },
      'max-loss': { type: 'string' },
      window: { type: 'string' },
      'seconds-per-run': { type: 'string' },
      receivers: { type: 'string' },
      'plain-rtp': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const paths = (values.paths ?? 'conclave,mediasoup').split(',');
  if (paths.some((name) => name !== 'conclave' && name !== 'mediasoup')) throw new Error('--paths: conclave and/or mediasoup');
  return {
    workers: list(values.workers, [1, 2], 'workers'),
    paths: paths as FanoutPath['name'][],
    steps: list(values.steps, DEFAULT_STEPS, 'steps'),
    maxLossPct: Number(values['max-loss'] ?? 1),
    saturatedCpuPct: 95,
    windowSeconds: Number(values.window ?? 3),
    settleSeconds: 1.5,
    secondsPerRun: Number(values['seconds-per-run'] ?? 60),
    receivers: list(values.receivers, [2], 'receivers')[0]!,
    srtp: !values['plain-rtp'],
    outDir: values.out ?? `loadtest-results/sfu-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads everything with the stream held and the receivers drained, so nothing is in flight at the boundary. */
async function read(path: FanoutPath, receivers: ReceiverPool, replayer: RtpReplayer): Promise<Reading> {
  replayer.pause();
  const snapshot = await receivers.drained();
  const cpu = await workerCpuMs(path.workers);
  const usage = process.cpuUsage();
  return {
    // The clock is media time: rates and CPU shares are over the time media flowed.
    at: replayer.flowingMs,
    snapshot,
    workerCpuMs: cpu,
    benchCpuMicros: usage.user + usage.system,
    receiverDrops: socketDrops(receivers.ports),
    ingressDrops: socketDrops(path.targets.map((target) => target.port)),
  };
}

/** Splits what went missing into the SFU's share and the counting sockets' share. */
export function lossShares(workers: WorkerWindow[], receiverDrops: number): { sfuLossPct: number; harnessLossPct: number } {
  const expected = workers.reduce((sum, worker) => sum + worker.expected, 0);
  const missing = workers.reduce((sum, worker) => sum + worker.expected - worker.received, 0);
  if (expected === 0) return { sfuLossPct: 0, harnessLossPct: 0 };
  const harness = Math.min(Math.max(0, missing), receiverDrops);
  return { sfuLossPct: (100 * Math.max(0, missing - harness)) / expected, harnessLossPct: (100 * harness) / expected };
}

/** One measurement window at the current consumer count. */
async function measureStep(
  path: FanoutPath,
  receivers: ReceiverPool,
  replayer: RtpReplayer,
  options: BenchOptions,
  consumersPerWorker: number,
  setupSeconds: number,
): Promise<Step> {
  const before = await read(path, receivers, replayer);
  replayer.resume();
  await sleep(options.windowSeconds * 1000);
  const after = await read(path, receivers, replayer);
  replayer.resume();
  const workers = workerWindows(before, after, path.ssrcWorker, (worker) => path.consumers(worker));
  const shares = lossShares(workers, after.receiverDrops - before.receiverDrops);
  const busiest = Math.max(...workers.map((worker) => worker.cpuPct));
  return {
    consumersPerWorker,
    setupSeconds,
    workers,
    benchCpuPct: (100 * (after.benchCpuMicros - before.benchCpuMicros)) / 1000 / (after.at - before.at),
    ...shares,
    ingressDrops: after.ingressDrops - before.ingressDrops,
    passed: shares.sfuLossPct <= options.maxLossPct && shares.harnessLossPct <= options.maxLossPct && busiest < options.saturatedCpuPct,
  };
}

/** Steps one path with one worker count up until it loses packets, saturates, or runs out of time. */
async function runPath(create: () => Promise<FanoutPath>, media: CapturedStream[], options: BenchOptions, log: (line: string) => void): Promise<Run> {
  const started = Date.now();
  const path = await create();
  const receivers = await ReceiverPool.start(options.receivers);
  const replayer = new RtpReplayer(media);
  const run: Run = { path: path.name, workerCount: path.workers.length, steps: [], stop: `reached the last step (${options.steps.at(-1)} per worker)` };
  try {
    for (const target of path.targets) await replayer.addTarget(target.ip, target.port);
    replayer.start();
    for (const consumersPerWorker of options.steps) {
      if (Date.now() - started > options.secondsPerRun * 1000) {
        run.stop = `time budget of ${options.secondsPerRun} s used`;
        break;
      }
      const setupStart = Date.now();
      await path.grow(consumersPerWorker, receivers.ports);
      const setupSeconds = (Date.now() - setupStart) / 1000;
      // Newly resumed video consumers wait for a keyframe (one a second in the capture).
      await sleep(options.settleSeconds * 1000);
      let step = await measureStep(path, receivers, replayer, options, consumersPerWorker, setupSeconds);
      // The machine is shared: a failed step is measured once more, and the second window counts.
      if (!step.passed) step = await measureStep(path, receivers, replayer, options, consumersPerWorker, setupSeconds);
      run.steps.push(step);
      const { sfuLossPct, harnessLossPct, ingressDrops, benchCpuPct, workers } = step;
      const busiest = Math.max(...workers.map((worker) => worker.cpuPct));
      log(
        `  ${path.name} ×${path.workers.length}: ${consumersPerWorker} consumers/worker · ` +
          workers.map((w) => `w${w.worker} ${Math.round(w.pps)} pps ${w.cpuPct.toFixed(0)}% cpu`).join(' · ') +
          ` · SFU loss ${sfuLossPct.toFixed(2)}% (${ingressDrops} unread at its input)` +
          ` · dropped by the counters ${harnessLossPct.toFixed(2)}% · bench ${benchCpuPct.toFixed(0)}%`,
      );
      if (!step.passed) {
        run.stop =
          sfuLossPct > options.maxLossPct
            ? `SFU loss ${sfuLossPct.toFixed(2)} % > ${options.maxLossPct} %`
            : busiest >= options.saturatedCpuPct
              ? `a worker at ${busiest.toFixed(0)} % of a core`
              : `harness limit: the counting sockets dropped ${harnessLossPct.toFixed(2)} %`;
        break;
      }
    }
  } finally {
    replayer.stop();
    await receivers.close();
    await path.close();
  }
  return run;
}

/** The last step that passed: what one worker sustained. */
export function capacity(run: Run): Step | undefined {
  return run.steps.filter((step) => step.passed).at(-1);
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/** Mean worker CPU per forwarded packet over every passed step: the per-packet cost. */
export function microsPerPacket(run: Run): number | null {
  const values = run.steps
    .filter((step) => step.passed)
    .flatMap((step) => step.workers.flatMap((worker) => (worker.cpuMicrosPerPacket === null ? [] : [worker.cpuMicrosPerPacket])));
  return values.length ? mean(values) : null;
}

/** The markdown tables BENCHMARKS.md quotes: every step, then capacity and the Conclave/mediasoup ratio. */
export function formatBench(runs: Run[], options: Pick<BenchOptions, 'maxLossPct'>): string {
  const lines = [
    '| path | workers | consumers/worker | pps/worker (mean) | SFU loss % | worker CPU % (max) | µs CPU/packet | dropped by counters % | bench CPU % | setup s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const run of runs) {
    for (const step of run.steps) {
      const perPacket = step.workers.flatMap((worker) => (worker.cpuMicrosPerPacket === null ? [] : [worker.cpuMicrosPerPacket]));
      lines.push(
        `| ${run.path} | ${run.workerCount} | ${step.consumersPerWorker} | ${Math.round(mean(step.workers.map((w) => w.pps)))} | ` +
          `${step.sfuLossPct.toFixed(2)} | ${Math.max(...step.workers.map((w) => w.cpuPct)).toFixed(0)} | ` +
          `${perPacket.length ? mean(perPacket).toFixed(1) : '–'} | ${step.harnessLossPct.toFixed(2)} | ${step.benchCpuPct.toFixed(0)} | ${step.setupSeconds.toFixed(1)} |`,
      );
    }
  }
  lines.push(
    '',
    `| workers | path | consumers/worker at < ${options.maxLossPct} % loss | pps/worker there | µs CPU/packet | stopped because | ratio to mediasoup (consumers · µs/packet) |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const workerCount of [...new Set(runs.map((run) => run.workerCount))]) {
    const raw = runs.find((run) => run.workerCount === workerCount && run.path === 'mediasoup');
    for (const run of runs.filter((candidate) => candidate.workerCount === workerCount)) {
      const best = capacity(run);
      const rawBest = raw && capacity(raw);
      const cost = microsPerPacket(run);
      const rawCost = raw && microsPerPacket(raw);
      const ratio =
        run === raw || !best || !rawBest
          ? '–'
          : `${(best.consumersPerWorker / rawBest.consumersPerWorker).toFixed(2)} · ${cost && rawCost ? (cost / rawCost).toFixed(2) : '–'}`;
      lines.push(
        `| ${workerCount} | ${run.path} | ${best ? best.consumersPerWorker : 'none'} | ${best ? Math.round(mean(best.workers.map((w) => w.pps))) : '–'} | ${cost === null ? '–' : cost.toFixed(1)} | ${run.stop} | ${ratio} |`,
      );
    }
  }
  lines.push('| reference | mediasoup docs | ~500 consumers per worker (“depending on the host”) | | | | |');
  return lines.join('\n');
}

export async function runBench(options: BenchOptions, log: (line: string) => void): Promise<Run[]> {
  const media = await loadMedia(undefined, log);
  const runs: Run[] = [];
  for (const workerCount of options.workers) {
    for (const name of options.paths) {
      log(`${name} with ${workerCount} worker(s):`);
      const link = new ReceiverLink(options.srtp);
      const create = name === 'conclave' ? () => ConclavePath.create(workerCount, media, link) : () => MediasoupPath.create(workerCount, media, link);
      runs.push(await runPath(create, media, options, log));
    }
  }
  return runs;
}

function usageError(error: unknown): number {
  process.stderr.write(`bench:sfu: ${error instanceof Error ? error.message : String(error)}\n\n${BENCH_HELP}`);
  return 2;
}

/** `npm run bench:sfu -- …`: 0 on success, 1 when packets went missing (instruction counts), 2 on bad usage. */
export async function benchCli(argv: string[]): Promise<number> {
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  if (argv.includes('--instructions') && !argv.includes('--help') && !argv.includes('-h')) {
    let instructionOptions: InstructionOptions;
    try {
      instructionOptions = parseInstructionOptions(argv);
    } catch (error) {
      return usageError(error);
    }
    return runInstructions(instructionOptions, log);
  }
  let options: BenchOptions | null;
  try {
    options = parseBenchOptions(argv.filter((arg) => arg !== '--instructions'));
  } catch (error) {
    return usageError(error);
  }
  if (!options) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const started = Date.now();
  const runs = await runBench(options, log);
  const table = `Consumers send ${options.srtp ? 'SRTP (AES_CM_128_HMAC_SHA1_80)' : 'plain RTP'}; loopback; ${os.availableParallelism()} cores.\n\n${formatBench(runs, options)}`;
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(path.join(options.outDir, 'sfu.json'), `${JSON.stringify({ options, runs, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
  writeFileSync(path.join(options.outDir, 'sfu.md'), `${table}\n`);
  log(`\n${table}\n\nTook ${((Date.now() - started) / 1000).toFixed(0)} s. Results: ${options.outDir}/sfu.json, sfu.md`);
  return 0;
}
