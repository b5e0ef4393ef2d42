// Over ~350 lines on purpose: one benchmark's whole run (the lab, a phase per cap and direction, the
// report table), read in the order it happens.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../../server/src/config.js';
import { createLogger } from '../../../server/src/logger.js';
import { experiments } from '../../../server/src/quality/LinkMonitor.js';
import { startServer, type ConclaveServer } from '../../../server/src/server.js';
import {
  NetLab,
  atFullQuality,
  netlabUnavailable,
  openLabParticipant,
  sentLayers,
  watch,
  writeCameraClip,
  type Direction,
  type LabParticipant,
  type WindowReading,
} from '../../../test/helpers/netlab.js';
import { benchOptions } from '../cliOptions.js';

/**
 * `npm run bench:adapt`: what a participant on a poor link sees, and what is seen of it. Three
 * people in one room with 640×360 cameras (a generated clip): Ana and Ben on clean links, Cy in a
 * network namespace whose downlink, then uplink, is capped in turn at each rate (tc tbf; see
 * test/helpers/netlab.ts). For each cap it lets the link settle, then reports per remote camera the
 * frame rate presented by the <video> (median of one-second rates, and the lowest), the size shown
 * most, the layers the server forwards, how often those switched, and the voices' concealment;
 * then lifts the cap and times how long until Cy's view (or her camera at the others) is back to
 * what the tiles ask for. Needs root (network namespaces).
 */

interface Options {
  caps: (number | null)[];
  directions: Exclude<Direction, 'both'>[];
  settleSeconds: number;
  measureSeconds: number;
  recoverSeconds: number;
  runs: number;
  out: string;
  /** Turn on the experimental downlink ceiling (docs/quality.md, point 5). */
  ceiling: boolean;
  /** The cap's token bucket in bytes (undefined: the lab's slow link, see CapOptions). */
  burstBytes: number | undefined;
}

const HELP = `Usage: npm run bench:adapt -- [--caps none,1500,800,500,300 (kbit/s)] [--directions down,up]
  [--settle S (default 10)] [--measure S (default 20)] [--recover S (default 30)] [--runs N (default 1)] [--out DIR]
  [--ceiling (the experimental downlink ceiling, docs/quality.md point 5)]
  [--burst BYTES (the cap's token bucket; default a slow link's, one packet; 4096 models a shaper before a fast line)]
       npm run bench:adapt -- --stuck [--rounds N] [--no-trials] (a clean link whose estimate fell: scripts/bench/adapt/stuck.ts)
Needs root: Cy's browser runs in a network namespace whose link tc caps. CONCLAVE_TEST_CLIENT_DIST serves a
client built elsewhere (default client/dist). Only the 500 kbit/s downlink: --caps 500 --directions down.`;

export interface Row {
  /** 1, 2, …; in the summary, how many runs the medians are over. */
  run: number;
  direction: 'down' | 'up';
  /** kbit/s, or null for no cap. */
  capKbit: number | null;
  viewer: string;
  sender: string;
  medianFps: number;
  meanFps: number;
  minFps: number;
  /** The size shown most of the window. */
  size: string;
  /** The layers forwarded at the window's end, and the one the tile asks for. */
  layers: string;
  /** Samples (one a second) in which the forwarded layer, spatial or temporal, changed over the window. */
  layerSwitches: number;
  sizeChanges: number;
  /** Share of the sender's voice the viewer's browser concealed, in %. */
  micConcealedPercent: number;
  micSilentSeconds: number;
  /** The lowest frame rate at which the clean pair (Ana and Ben) saw each other meanwhile. */
  othersMinFps: number;
  /** Seconds from lifting the cap until this camera was back at full quality (null: not within --recover). */
  recoverySeconds: number | null;
  /** The server's estimate of the capped participant's link in the window (its link report), kbit/s: median and lowest. */
  estimateKbps?: { median: number; min: number };
}

/** Reads the capped participant's link report (the server's estimate of its downlink) about once a second until `until`. */
async function sampleEstimates(participant: LabParticipant, until: number): Promise<number[]> {
  const samples: number[] = [];
  while (Date.now() < until) {
    const link = (await participant.state().catch(() => undefined))?.link;
    if (link?.downlink.availableKbps != null) samples.push(link.downlink.availableKbps);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return samples;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      caps: { type: 'string' },
      directions: { type: 'string' },
      settle: { type: 'string' },
      measure: { type: 'string' },
      recover: { type: 'string' },
      runs: { type: 'string' },
      out: { type: 'string' },
      ceiling: { type: 'boolean' },
      burst: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const caps = (values.caps ?? 'none,1500,800,500,300').split(',').map((cap) => {
    if (cap.trim() === 'none') return null;
    const kbit = Number(cap);
    if (!(kbit >= 16)) throw new Error(`--caps: ${cap} is not a rate in kbit/s (≥ 16) or "none"`);
    return kbit;
  });
  const directions = (values.directions ?? 'down,up').split(',').map((direction) => {
    if (direction !== 'down' && direction !== 'up') throw new Error(`--directions: ${direction} is neither "down" nor "up"`);
    return direction;
  });
  const seconds = (value: string | undefined, fallback: number, name: string): number => {
    const parsed = Number(value ?? fallback);
    if (!(parsed >= 1)) throw new Error(`--${name} must be ≥ 1 s`);
    return parsed;
  };
  const burstBytes = values.burst === undefined ? undefined : Number(values.burst);
  if (burstBytes !== undefined && !(Number.isInteger(burstBytes) && burstBytes >= 1600))
    throw new Error('--burst must be a whole number of bytes ≥ 1600 (a full-size packet)');
  const runs = Number(values.runs ?? 1);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number ≥ 1');
  return {
    caps,
    directions,
    settleSeconds: seconds(values.settle, 10, 'settle'),
    measureSeconds: seconds(values.measure, 20, 'measure'),
    recoverSeconds: seconds(values.recover, 30, 'recover'),
    runs,
    out: values.out ?? path.join('bench-results', `adapt-${new Date().toISOString().replace(/[:.]/g, '-')}`),
    ceiling: values.ceiling ?? false,
    burstBytes,
  };
}

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

interface Room {
  ana: LabParticipant;
  ben: LabParticipant;
  cy: LabParticipant;
}

/** The rows of one measured window: who looks at whom depends on which way the link is capped. */
function rowsOf(run: number, direction: 'down' | 'up', capKbit: number | null, room: Room, readings: Map<LabParticipant, WindowReading>): Row[] {
  const { ana, ben, cy } = room;
  const othersMinFps = Math.min(readings.get(ana)!.video[ben.name]?.fps ?? 0, readings.get(ben)!.video[ana.name]?.fps ?? 0);
  const pairs: [LabParticipant, LabParticipant][] =
    direction === 'down'
      ? [
          [cy, ana],
          [cy, ben],
        ]
      : [
          [ana, cy],
          [ben, cy],
        ];
  return pairs.map(([viewer, sender]) => {
    const reading = readings.get(viewer)!;
    const video = reading.video[sender.name];
    const audio = reading.audio[sender.name];
    return {
      run,
      direction,
      capKbit,
      viewer: viewer.name,
      sender: sender.name,
      medianFps: round(video?.medianFps ?? 0),
      meanFps: round(video?.fps ?? 0),
      minFps: round(video?.minFps ?? 0),
      size: video ? `${video.width}x${video.height}` : '-',
      layers: video ? `S${video.spatialLayer ?? '-'}T${video.temporalLayer ?? '-'}/S${video.preferredSpatialLayer ?? '-'}` : '-',
      layerSwitches: video?.layerSwitches ?? 0,
      sizeChanges: video?.sizeChanges ?? 0,
      micConcealedPercent: round((audio?.concealment ?? 1) * 100),
      micSilentSeconds: audio?.silentSeconds ?? 0,
      othersMinFps: round(othersMinFps),
      recoverySeconds: null,
    };
  });
}

/** Seconds until every listed camera is back at full quality, or null if not within `limitSeconds`. */
async function timeRecovery(pairs: [LabParticipant, LabParticipant][], limitSeconds: number): Promise<Map<string, number | null>> {
  const started = Date.now();
  const recovered = new Map<string, number | null>(pairs.map(([viewer, sender]) => [`${viewer.name}←${sender.name}`, null]));
  while (Date.now() - started < limitSeconds * 1000 && [...recovered.values()].some((value) => value === null)) {
    for (const [viewer, sender] of pairs) {
      const pair = `${viewer.name}←${sender.name}`;
      if (recovered.get(pair) !== null) continue;
      const sight = await viewer.look();
      if (atFullQuality(sight.video[sender.name])) recovered.set(pair, round((sight.at - started) / 1000));
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return recovered;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const mostCommon = (values: string[]): string => {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '-';
};

/** One row per link, cap and pair: the median of every figure over the runs (sizes and layers: the most common). */
function summarise(rows: Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.direction} ${row.capKbit} ${row.viewer} ${row.sender}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const of = (pick: (row: Row) => number): number => round(median(group.map(pick)));
    // A run that did not recover within the limit counts as the slowest.
    const recovery = median(group.map((row) => row.recoverySeconds ?? Infinity));
    return {
      ...group[0]!,
      run: group.length,
      medianFps: of((row) => row.medianFps),
      meanFps: of((row) => row.meanFps),
      minFps: of((row) => row.minFps),
      size: mostCommon(group.map((row) => row.size)),
      layers: mostCommon(group.map((row) => row.layers)),
      layerSwitches: of((row) => row.layerSwitches),
      sizeChanges: of((row) => row.sizeChanges),
      micConcealedPercent: of((row) => row.micConcealedPercent),
      micSilentSeconds: of((row) => row.micSilentSeconds),
      othersMinFps: of((row) => row.othersMinFps),
      recoverySeconds: Number.isFinite(recovery) ? round(recovery) : null,
    };
  });
}

function table(rows: Row[]): string {
  const header = [
    'link',
    'cap kbit/s',
    'viewer ← camera',
    'fps median',
    'fps min (1 s)',
    'size shown',
    'layers (now/wanted)',
    'layer switches',
    'size changes',
    'mic concealed %',
    'clean pair min fps',
    'back to full after cap lifted (s)',
  ];
  const lines = rows.map((row) =>
    [
      row.direction,
      row.capKbit ?? 'none',
      `${row.viewer} ← ${row.sender}`,
      row.medianFps,
      row.minFps,
      row.size,
      row.layers,
      row.layerSwitches,
      row.sizeChanges,
      row.micConcealedPercent,
      row.othersMinFps,
      row.capKbit === null ? '–' : (row.recoverySeconds ?? 'not within limit'),
    ].join(' | '),
  );
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...lines.map((line) => `| ${line} |`)].join('\n');
}

/** A production server on the lab's bridge, which every page reaches (Cy's through her veth). */
export async function startLabServer(lab: NetLab): Promise<ConclaveServer> {
  const config = parseConfig({
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HTTP_HOST: lab.gateway,
    LISTEN_IP: lab.gateway,
    ANNOUNCED_IP: lab.gateway,
    RTC_PORT: '0',
    NUM_WORKERS: '1',
    // CONCLAVE_BENCH_LOG_LEVEL=debug shows each downlink decision (the ceiling, the trials).
    LOG_LEVEL: process.env.CONCLAVE_BENCH_LOG_LEVEL ?? 'warn',
    // As in the tests: a client built elsewhere, for people working side by side.
    CLIENT_DIST: process.env.CONCLAVE_TEST_CLIENT_DIST ?? path.resolve('client/dist'),
    RATE_LIMIT_PER_SECOND: '1000',
  });
  return startServer(config, createLogger(config.LOG_LEVEL, false));
}

/** The options of a bench in the lab, or its exit code: nothing to run, or no lab here (not root). */
export function labBenchOptions<T>(argv: string[], parse: (argv: string[]) => T | null, help: string): { options: T } | { exitCode: number } {
  const parsed = benchOptions(argv, parse, help);
  if ('exitCode' in parsed) return parsed;
  const unavailable = netlabUnavailable();
  if (unavailable) {
    process.stderr.write(`bench:adapt cannot run here: ${unavailable}\n`);
    return { exitCode: 2 };
  }
  return parsed;
}

export async function adaptCli(argv: string[]): Promise<number> {
  const parsed = labBenchOptions(argv, parseOptions, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;

  experiments.downlinkCeiling = options.ceiling;
  const loadBefore = os.loadavg()[0]!;
  const lab = await NetLab.create();
  let server: ConclaveServer | undefined;
  const browsers: Browser[] = [];
  const rows: Row[] = [];
  const sent: { run: number; direction: string; participant: string; layers: { rid: string; size: string; kbit: number; fps: number }[] }[] = [];
  const say = (message: string): void => void process.stdout.write(`${message}\n`);
  try {
    const cyHost = await lab.addHost('cy');
    const clip = await writeCameraClip(path.join(lab.workDir, 'camera.y4m'));
    server = await startLabServer(lab);
    const clean = await lab.launchChromium(null, server.url, clip);
    browsers.push(clean);
    const isolated = await lab.launchChromium(cyHost, server.url, clip);
    browsers.push(isolated);
    // The same windows as test/netlab/adaptation.test.ts: every tile asks for the middle layer.
    const viewport = { width: 1280, height: 720 };
    const ana = await openLabParticipant(clean, server.url, 'adapt', 'Ana', { viewport });
    const ben = await openLabParticipant(clean, server.url, 'adapt', 'Ben', { viewport });
    const cy = await openLabParticipant(isolated, server.url, 'adapt', 'Cy', { viewport });
    const room: Room = { ana, ben, cy };
    const everyPair: [LabParticipant, LabParticipant][] = [
      [cy, ana],
      [cy, ben],
      [ana, cy],
      [ben, cy],
      [ana, ben],
      [ben, ana],
    ];
    const warmup = await timeRecovery(everyPair, 90);
    say(`on clean links, full quality after: ${[...warmup].map(([pair, seconds]) => `${pair} ${seconds ?? 'not within 90'} s`).join(', ')}`);

    for (let run = 1; run <= options.runs; run++) {
      for (const direction of options.directions) {
        for (const capKbit of options.caps) {
          if (capKbit !== null) await lab.cap(cyHost, direction, capKbit, { burstBytes: options.burstBytes });
          try {
            await watch(cy, options.settleSeconds);
            const before = capKbit === null ? await Promise.all([cy, ana, ben].map(sentLayers)) : [];
            const estimates = sampleEstimates(cy, Date.now() + options.measureSeconds * 1000);
            const windows = await Promise.all([cy, ana, ben].map(async (page) => [page, await watch(page, options.measureSeconds)] as const));
            const cyEstimates = await estimates;
            const windowRows = rowsOf(run, direction, capKbit, room, new Map(windows));
            if (direction === 'down' && cyEstimates.length > 0) {
              for (const row of windowRows) row.estimateKbps = { median: median(cyEstimates), min: Math.min(...cyEstimates) };
              say(`run ${run}, down ${capKbit ?? 'none'}: the server's estimate of Cy's downlink, kbit/s, each second: ${cyEstimates.join(' ')}`);
            }
            rows.push(...windowRows);
            if (capKbit === null) {
              // What the cameras cost on clean links: what a cap has to carry.
              const after = await Promise.all([cy, ana, ben].map(sentLayers));
              const seconds = windows[0]![1].seconds;
              for (const [i, page] of [cy, ana, ben].entries()) {
                const layers = Object.entries(after[i]!).map(([rid, layer]) => {
                  const start = before[i]![rid];
                  const kbit = start ? ((layer.bytesSent - start.bytesSent) * 8) / 1000 / seconds : 0;
                  const fps = start ? (layer.framesEncoded - start.framesEncoded) / seconds : 0;
                  return { rid, size: `${layer.width}x${layer.height}`, kbit: round(kbit, 0), fps: round(fps) };
                });
                sent.push({ run, direction, participant: page.name, layers });
                say(
                  `run ${run}, clean: ${page.name} sends ${layers.map((layer) => `${layer.rid} ${layer.size} ${layer.kbit} kbit/s ${layer.fps} fps`).join(', ')}`,
                );
              }
            }
          } finally {
            if (capKbit !== null) await lab.uncap(cyHost);
          }
          const measured = rows.filter((row) => row.run === run && row.direction === direction && row.capKbit === capKbit);
          if (capKbit !== null) {
            const pairs = direction === 'down' ? everyPair.slice(0, 2) : everyPair.slice(2, 4);
            const recovery = await timeRecovery(pairs, options.recoverSeconds);
            for (const row of measured) row.recoverySeconds = recovery.get(`${row.viewer}←${row.sender}`) ?? null;
          }
          for (const row of measured) {
            say(
              `run ${run}, ${direction} ${capKbit ?? 'none'}: ${row.viewer} ← ${row.sender} ${row.medianFps} fps (min ${row.minFps}) ${row.size} ${row.layers}, ` +
                `${row.layerSwitches} layer switches, mic concealed ${row.micConcealedPercent} %, clean pair ≥ ${row.othersMinFps} fps, recovery ${row.recoverySeconds ?? '-'} s` +
                (row.estimateKbps ? `, estimate median ${row.estimateKbps.median} (min ${row.estimateKbps.min}) kbit/s` : ''),
            );
          }
        }
      }
    }
  } finally {
    await Promise.allSettled(browsers.map((browser) => browser.close()));
    await server?.close().catch(() => undefined);
    await lab.destroy();
  }

  // The machine's load is part of the result: frame rates fall with it whatever the link.
  const load = { before: round(loadBefore), after: round(os.loadavg()[0]!) };
  const summary = summarise(rows);
  const over = options.runs > 1 ? ` (medians over ${options.runs} runs)` : '';
  const link = options.burstBytes === undefined ? 'a slow link (one-packet bucket)' : `a shaper with a ${options.burstBytes}-byte bucket`;
  say(`\n${table(summary)}\n\ncaps: ${link}; load average (1 min) before ${load.before}, after ${load.after}${over}`);
  mkdirSync(options.out, { recursive: true });
  const file = path.join(options.out, 'adapt.json');
  writeFileSync(file, JSON.stringify({ options, load, summary, rows, sent }, null, 2));
  say(`Results: ${file}`);
  return 0;
}
