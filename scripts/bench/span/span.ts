import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../../server/src/cluster/redis.js';
import { createLogger } from '../../../server/src/logger.js';
import { startRedis, type RedisServer } from '../../../test/cluster/redisServer.js';
import { killLabNode, LAB_METRICS_TOKEN, liveNodes, startLabNode, type LabNode } from '../../../test/helpers/clusterLab.js';
import { NetLab, netlabUnavailable } from '../../../test/helpers/netlab.js';
import { mergeResults } from '../../loadtest/merge.js';
import { SYNTHETIC_MEDIA } from '../../loadtest/synthetic/media.js';
import { loadCapture } from '../sfu/capture.js';
import { missedThresholds, summarizeRun } from '../../loadtest/stats.js';
import type { RunResult } from '../../loadtest/types.js';
import { timestampDir } from '../../loadtest/options.js';

export const SPAN_HELP = `Usage: npm run bench:span -- [options]

The largest room across three cluster nodes, each on a host of its own (network namespaces, so it
needs root; a redis-server on the lab's gateway). One room spans the three nodes: through each node
N synthetic participants of the load-test tool join it (--senders of them publishing), and through
the first node also --bots browser bots (camera and microphone) that measure what people see: the
cameras of the other nodes' senders reach them through pipes between the nodes. Three load-test
runs at once, merged. N steps up until a bot's received video falls under --min-fps, a bot's loss
passes --max-loss, or anyone fails to join.

  --steps LIST       synthetic participants per node, in order (default 10,20,30,45,60)
  --senders N        of those, how many publish camera and microphone per node (default 1)
  --bots N           browser bots through the first node, all sending (default 2)
  --duration S       measured seconds per step (default 20)
  --settle S         seconds after the joins before measuring (default 10)
  --min-fps F        (default 15)
  --max-loss PCT     (default 2)
  --out DIR          where span.json goes (default loadtest-results/span-<timestamp>)
  --help`;

export interface SpanOptions {
  steps: number[];
  senders: number;
  bots: number;
  durationSeconds: number;
  settleSeconds: number;
  minFps: number;
  maxLossPct: number;
  outDir: string;
}

export interface SpanStep {
  /** Synthetic participants per node. */
  syntheticPerNode: number;
  /** Everyone in the room: the bots and the synthetic participants. */
  roomSize: number;
  bots: { fpsMin: number | null; fpsMean: number | null; lossMax: number | null };
  synthetic: { joined: number; total: number; lossP50: number | null; lossMax: number | null };
  /** Pipes between the nodes while the room was full, each node's most incoming and outgoing. */
  pipes: Record<string, { incoming: number; outgoing: number }>;
  missed: string[];
}

const LOADTEST = path.resolve(import.meta.dirname, '../../loadtest/cli.js');
const TTL_SECONDS = 6;

export function parseSpanOptions(argv: string[]): SpanOptions | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      steps: { type: 'string', default: '10,20,30,45,60' },
      senders: { type: 'string', default: '1' },
      bots: { type: 'string', default: '2' },
      duration: { type: 'string', default: '20' },
      settle: { type: 'string', default: '10' },
      'min-fps': { type: 'string', default: '15' },
      'max-loss': { type: 'string', default: '2' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;
  const steps = values.steps.split(',').map(Number);
  if (steps.length === 0 || steps.some((step) => !Number.isInteger(step) || step < 1)) throw new Error('--steps takes positive integers, comma-separated');
  const numbers = {
    senders: Number(values.senders),
    bots: Number(values.bots),
    duration: Number(values.duration),
    settle: Number(values.settle),
    minFps: Number(values['min-fps']),
  };
  const maxLossPct = Number(values['max-loss']);
  if (!Object.values({ ...numbers, maxLossPct }).every((value) => Number.isFinite(value) && value >= 0)) throw new Error('numbers only, not negative');
  if (numbers.senders > Math.min(...steps)) throw new Error('--senders cannot exceed the smallest step');
  return {
    steps,
    senders: numbers.senders,
    bots: numbers.bots,
    durationSeconds: numbers.duration,
    settleSeconds: numbers.settle,
    minFps: numbers.minFps,
    maxLossPct,
    outDir: values.out ?? timestampDir().replace('loadtest-results/', 'loadtest-results/span-'),
  };
}

/** One load-test run through `node`: `bots` browser bots and the synthetic participants, into `outDir`. */
function loadTest(node: LabNode, room: string, bots: number, synthetic: number, options: SpanOptions, outDir: string): Promise<RunResult> {
  const args = [
    LOADTEST,
    ...['--url', node.url, '--room', room, '--participants', String(bots), '--senders', String(bots), '--bot-prefix', node.id],
    ...['--synthetic', String(synthetic), '--synthetic-senders', String(options.senders), '--synthetic-threads', '1'],
    ...['--duration', String(options.durationSeconds), '--settle', String(options.settleSeconds), '--out', outDir],
  ];
  mkdirSync(outDir, { recursive: true });
  const log = openSync(path.join(outDir, 'loadtest.log'), 'w');
  return new Promise((resolve, reject) => {
    // Its progress and summary go to a log beside its results.
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
    child.on('exit', () => {
      closeSync(log);
      try {
        resolve(JSON.parse(readFileSync(path.join(outDir, 'results.json'), 'utf8')) as RunResult);
      } catch {
        reject(new Error(`the load test through ${node.id} wrote no results: see ${path.join(outDir, 'loadtest.log')}`));
      }
    });
  });
}

async function pipesOf(node: LabNode): Promise<{ incoming: number; outgoing: number }> {
  const metrics = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${LAB_METRICS_TOKEN}` } })).text();
  const read = (direction: 'in' | 'out'): number =>
    Number(new RegExp(`^conclave_cluster_pipes\\{direction="${direction}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
  return { incoming: read('in'), outgoing: read('out') };
}

async function runStep(nodes: LabNode[], directory: Redis, synthetic: number, options: SpanOptions): Promise<SpanStep> {
  const room = `span-${synthetic}`;
  const stepDir = path.join(options.outDir, room);
  const pipesSeen: Record<string, { incoming: number; outgoing: number }> = {};
  // The pipes while the room is full (the most seen: at the end everyone leaves).
  const sampling = setInterval(() => {
    for (const node of nodes) {
      void pipesOf(node).then(
        ({ incoming, outgoing }) => {
          const most = pipesSeen[node.id] ?? { incoming: 0, outgoing: 0 };
          pipesSeen[node.id] = { incoming: Math.max(most.incoming, incoming), outgoing: Math.max(most.outgoing, outgoing) };
        },
        () => undefined,
      );
    }
  }, 2000);
  let results: RunResult[];
  try {
    // The room opens on the first node; only then do the others join it through theirs (a join
    // arriving first elsewhere would open the room where placement puts it instead).
    const [first, ...others] = nodes as [LabNode, ...LabNode[]];
    const opening = loadTest(first, room, options.bots, synthetic, options, path.join(stepDir, first.id));
    while (Object.keys(await directory.hgetall(`room:${room}`)).length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    results = await Promise.all([opening, ...others.map((node) => loadTest(node, room, 0, synthetic, options, path.join(stepDir, node.id)))]);
  } finally {
    clearInterval(sampling);
  }
  const merged = mergeResults(results);
  const summary = summarizeRun(merged);
  const missed = missedThresholds(summary, { maxJoinMs: null, minFps: options.minFps, maxLossPct: options.maxLossPct });
  const fps = summary.perBot.map((bot) => bot.fps).filter((value): value is number => value !== null);
  return {
    syntheticPerNode: synthetic,
    roomSize: options.bots + nodes.length * synthetic,
    bots: { fpsMin: fps.length ? Math.min(...fps) : null, fpsMean: summary.fps.mean, lossMax: summary.loss.max },
    synthetic: {
      joined: summary.synthetic?.joined ?? 0,
      total: summary.synthetic?.total ?? 0,
      lossP50: summary.synthetic?.loss.p50 ?? null,
      lossMax: summary.synthetic?.loss.max ?? null,
    },
    pipes: pipesSeen,
    missed,
  };
}

const fmt = (value: number | null, digits = 1): string => (value === null ? '–' : value.toFixed(digits));

export async function spanCli(options: SpanOptions): Promise<number> {
  const unavailable = netlabUnavailable();
  if (unavailable) {
    console.error(`bench:span needs network namespaces: ${unavailable}`);
    return 1;
  }
  let lab: NetLab | undefined;
  let redis: RedisServer | undefined;
  let directory: Redis | undefined;
  const nodes: LabNode[] = [];
  // Interrupted: the nodes go too (the lab removes its namespaces as the process exits).
  const interrupted = (): void => {
    for (const node of nodes) killLabNode(node);
    process.exit(130);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    // The synthetic senders' media, encoded once before three load tests want it at the same moment.
    if (options.senders > 0) await loadCapture(SYNTHETIC_MEDIA, undefined, (line) => console.log(line));
    lab = await NetLab.create();
    redis = await startRedis(undefined, lab.gateway);
    directory = connectRedis(`redis://:${redis.password}@${lab.gateway}:${redis.port}`, createLogger('silent', false));
    await directory.connect();
    const hosts = await Promise.all([1, 2, 3].map((i) => lab!.addHost(`span${i}`)));
    for (const host of hosts) nodes.push(await startLabNode(lab, host, redis, { ttlSeconds: TTL_SECONDS }));
    for (const node of nodes) {
      while ((await liveNodes(node)) < nodes.length) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    console.log(
      `bench:span — one room over 3 nodes in network namespaces; ${options.bots} browser bots through the first, N synthetic (${options.senders} sending) through each; ` +
        `${options.durationSeconds} s measured after ${options.settleSeconds} s; load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    console.log('room | synthetic/node | bot fps min / mean | bot loss max | synthetic joined | synthetic loss p50 / max | pipes in/out per node | verdict');
    const steps: SpanStep[] = [];
    for (const synthetic of options.steps) {
      const step = await runStep(nodes, directory, synthetic, options);
      steps.push(step);
      const pipes = Object.values(step.pipes)
        .map((count) => `${count.incoming}/${count.outgoing}`)
        .join(' ');
      console.log(
        `${step.roomSize} | ${synthetic} | ${fmt(step.bots.fpsMin)} / ${fmt(step.bots.fpsMean)} | ${fmt(step.bots.lossMax, 2)}% | ` +
          `${step.synthetic.joined}/${step.synthetic.total} | ${fmt(step.synthetic.lossP50, 2)}% / ${fmt(step.synthetic.lossMax, 2)}% | ${pipes} | ` +
          `${step.missed.length === 0 ? 'holds' : step.missed.join('; ')}`,
      );
      if (step.missed.length > 0) break;
    }
    const largest = steps.filter((step) => step.missed.length === 0).at(-1);
    console.log(largest ? `largest room that held: ${largest.roomSize} participants over 3 nodes` : 'no step held');
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(path.join(options.outDir, 'span.json'), `${JSON.stringify({ options, loadavg: os.loadavg(), steps }, null, 2)}\n`);
    console.log(`written: ${path.join(options.outDir, 'span.json')}`);
    return 0;
  } finally {
    for (const node of nodes) killLabNode(node);
    directory?.disconnect();
    await redis?.stop();
    await lab?.destroy();
  }
}
