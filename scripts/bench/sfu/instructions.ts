import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { version as mediasoupVersion } from 'mediasoup';
import { dumpCounters, runWorkersUnderCallgrind, selfCostByFunction, shortName, totalInstructions, zeroCounters } from './callgrind.js';
import { loadMedia, type CapturedStream, type MediaKind } from './capture.js';
import { ConclavePath, MediasoupPath, ReceiverLink, type FanoutPath } from './fanout.js';
import { ReceiverPool, type Snapshot } from './receivers.js';
import { timestampOf } from './rtp.js';

export type Link = 'srtp' | 'plain';

export interface InstructionOptions {
  paths: FanoutPath['name'][];
  links: Link[];
  /** Consumers on the one worker: half receivers' audio, half their video. */
  consumers: number;
  /** Input packets measured (audio and video together, in capture order). */
  packets: number;
  /** Media sent before the counters are zeroed: consumers flowing, first keyframe through. */
  warmupMs: number;
  repeats: number;
  /** Keep the dumps and name the functions that account for Conclave's difference. */
  collect: boolean;
  outDir: string;
}

export const INSTRUCTIONS_HELP = `Instruction counts (--instructions): one worker under valgrind --tool=callgrind, a fixed fan-out
and a fixed run of packets, so how busy the machine is hardly moves the result. The first
--warmup-ms of the capture flow first; then the counters are zeroed, the next --packets packets are
sent at the capture's pace, and once every copy has reached the counting socket the counters are
dumped. Prints instructions (Ir) per forwarded packet and per input packet, Conclave's rooms and bare
mediasoup, SRTP and plain RTP, each measured --repeats times. The receivers declare no transport-cc
or REMB: with no feedback coming, the estimator would only add timer-driven work that varies from
run to run. Exits 1 if a window lost packets.

  --consumers N       consumers on the worker, an even number (default 20: 10 receivers × audio+video)
  --packets N         input packets measured (default 900, about 5 s of the capture)
  --warmup-ms MS      media sent before the counters are zeroed (default 1200)
  --repeats N         measurements of each combination (default 2)
  --paths LIST        conclave,mediasoup (default both)
  --links LIST        srtp,plain (default both)
  --callgrind-collect keep the dumps in --out and list the functions behind the Conclave/mediasoup difference
  --out DIR           where instructions.json and instructions.md go (default loadtest-results/instructions-<timestamp>)
`;

function positive(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a positive integer`);
  return value;
}

function choices<T extends string>(raw: string | undefined, allowed: readonly T[], name: string): T[] {
  if (raw === undefined) return [...allowed];
  const values = raw.split(',');
  if (values.some((value) => !allowed.includes(value as T))) throw new Error(`--${name}: ${allowed.join(' and/or ')}`);
  return values as T[];
}

export function parseInstructionOptions(argv: string[]): InstructionOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      instructions: { type: 'boolean' },
      consumers: { type: 'string' },
      packets: { type: 'string' },
      'warmup-ms': { type: 'string' },
      repeats: { type: 'string' },
      paths: { type: 'string' },
      links: { type: 'string' },
      'callgrind-collect': { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  const consumers = positive(values.consumers, 20, 'consumers');
  if (consumers % 2 !== 0) throw new Error('--consumers must be even: each receiver takes the audio and the video');
  return {
    paths: choices(values.paths, ['conclave', 'mediasoup'] as const, 'paths'),
    links: choices(values.links, ['srtp', 'plain'] as const, 'links'),
    consumers,
    packets: positive(values.packets, 900, 'packets'),
    warmupMs: positive(values['warmup-ms'], 1200, 'warmup-ms'),
    repeats: positive(values.repeats, 2, 'repeats'),
    collect: values['callgrind-collect'] ?? false,
    outDir: values.out ?? `loadtest-results/instructions-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  };
}

/** One packet of the capture, with when it is due (ms from the capture's first packet of its kind). */
export interface TimedPacket {
  kind: MediaKind;
  dueMs: number;
  packet: Buffer;
}

/** Identifies the capture: counts from different encodings (packet sizes) are not comparable. */
export function captureId(media: CapturedStream[]): string {
  const hash = createHash('sha256');
  for (const stream of media) for (const packet of stream.packets) hash.update(packet);
  return hash.digest('hex').slice(0, 12);
}

/** Audio and video merged in sending order, as the wall-clock replayer sends them. */
export function timeline(media: CapturedStream[]): TimedPacket[] {
  const entries = media.flatMap((stream) => {
    const first = timestampOf(stream.packets[0]!);
    return stream.packets.map((packet) => ({ kind: stream.kind, dueMs: (((timestampOf(packet) - first) >>> 0) / stream.clockRate) * 1000, packet }));
  });
  return entries.sort((a, b) => a.dueMs - b.dueMs);
}

/** The warm-up (everything due before `warmupMs`), then exactly `packets` packets. */
export function splitTimeline(entries: TimedPacket[], warmupMs: number, packets: number): { warmup: TimedPacket[]; measured: TimedPacket[] } {
  const start = entries.findIndex((entry) => entry.dueMs >= warmupMs);
  if (start < 0 || start + packets > entries.length) {
    throw new Error(`the capture holds ${entries.length} packets: not enough for ${warmupMs} ms of warm-up and ${packets} measured`);
  }
  return { warmup: entries.slice(0, start), measured: entries.slice(start, start + packets) };
}

/** Sends `entries` once, at the capture's pace (checked every 4 ms, like the wall-clock replayer). */
function play(entries: TimedPacket[], socket: dgram.Socket, target: { ip: string; port: number }): Promise<void> {
  const base = entries[0]?.dueMs ?? 0;
  const started = performance.now();
  let next = 0;
  return new Promise((resolve) => {
    const pump = (): void => {
      const elapsed = performance.now() - started;
      while (next < entries.length && entries[next]!.dueMs - base <= elapsed) socket.send(entries[next++]!.packet, target.port, target.ip);
      if (next < entries.length) return;
      clearInterval(timer);
      resolve();
    };
    const timer = setInterval(pump, 4);
    pump();
  });
}

/** Media packets that reached the sinks on the consumers' SSRCs (not the probation packets bandwidth estimation sends on SSRC 1234). */
const received = (snapshot: Snapshot, ssrcs: ReadonlyMap<number, number>): number =>
  [...snapshot].reduce((sum, [ssrc, count]) => sum + (ssrcs.has(ssrc) ? count.received : 0), 0);

/** Waits (up to 20 s) until `count` more media packets than `base` have reached the sinks. */
async function arrivals(receivers: ReceiverPool, ssrcs: ReadonlyMap<number, number>, base: number, count: number): Promise<Snapshot> {
  const deadline = Date.now() + 20_000;
  let now = await receivers.snapshot();
  while (received(now, ssrcs) - base < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    now = await receivers.snapshot();
  }
  return now;
}

export interface Measurement {
  path: FanoutPath['name'];
  link: Link;
  repeat: number;
  /** Instructions the worker executed in the window (Ir). */
  instructions: number;
  inputPackets: number;
  /** RTP packets that reached the counting socket in the window. */
  forwarded: number;
  expected: number;
  /** Wall-clock: starting the worker and the consumers; the window. */
  setupSeconds: number;
  seconds: number;
  /** The dump, when kept. */
  dump?: string;
}

/** One worker, `options.consumers` consumers, one zeroed-and-dumped window. */
async function measure(
  name: FanoutPath['name'],
  link: Link,
  repeat: number,
  media: CapturedStream[],
  options: InstructionOptions,
  dumpDir: string,
): Promise<Measurement> {
  const { warmup, measured } = splitTimeline(timeline(media), options.warmupMs, options.packets);
  const receiverLink = new ReceiverLink(link === 'srtp', false);
  const receivers = await ReceiverPool.start(1);
  const socket = dgram.createSocket('udp4');
  let fanout: FanoutPath | undefined;
  const setupStart = performance.now();
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    fanout = name === 'conclave' ? await ConclavePath.create(1, media, receiverLink) : await MediasoupPath.create(1, media, receiverLink);
    const pid = fanout.workers[0]!.pid;
    const target = fanout.targets[0]!;
    await fanout.grow(options.consumers, receivers.ports);
    const setupSeconds = (performance.now() - setupStart) / 1000;
    await play(warmup, socket, target);
    const { ssrcWorker } = fanout;
    // Every consumer forwards every packet of its kind; each receiver has one of each kind.
    const perReceiver = (entries: TimedPacket[]): number => (options.consumers / 2) * entries.length;
    // All of the warm-up, so none of it lands in the window; drained() alone can end early on a busy machine.
    await arrivals(receivers, ssrcWorker, 0, perReceiver(warmup));
    const before = await receivers.drained();
    const flowing = [...before.keys()].filter((ssrc) => ssrcWorker.has(ssrc)).length;
    if (flowing !== options.consumers) throw new Error(`${flowing} of ${options.consumers} consumers forwarded during the warm-up`);
    const expected = perReceiver(measured);
    await zeroCounters(pid);
    const started = performance.now();
    await play(measured, socket, target);
    const now = await arrivals(receivers, ssrcWorker, received(before, ssrcWorker), expected);
    const seconds = (performance.now() - started) / 1000;
    const dump = await dumpCounters(pid, dumpDir);
    const instructions = totalInstructions(readFileSync(dump, 'utf8'));
    if (instructions === null) throw new Error(`no totals in ${dump}`);
    return {
      path: name,
      link,
      repeat,
      instructions,
      inputPackets: measured.length,
      forwarded: received(now, ssrcWorker) - received(before, ssrcWorker),
      expected,
      setupSeconds,
      seconds,
      dump,
    };
  } finally {
    socket.close();
    await receivers.close();
    await fanout?.close();
  }
}

const perPacket = (m: Measurement): number => m.instructions / m.forwarded;
const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
const thousands = (value: number, digits = 0): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Per link and path: each run's Ir per forwarded packet, their spread, Ir per input packet, and Conclave over mediasoup. */
export function formatInstructions(measurements: Measurement[], repeats: number): string {
  const runs = Array.from({ length: repeats }, (_, i) => `run ${i + 1}`);
  const lines = [
    `| link | path | Ir / forwarded packet: ${runs.join(' · ')} | spread | **mean** | Ir / input packet (mean) | forwarded / expected | conclave ÷ mediasoup |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const link of [...new Set(measurements.map((m) => m.link))]) {
    const of = (name: FanoutPath['name']): Measurement[] => measurements.filter((m) => m.link === link && m.path === name);
    const raw = of('mediasoup');
    for (const name of [...new Set(measurements.filter((m) => m.link === link).map((m) => m.path))]) {
      const mine = of(name);
      const values = mine.map(perPacket);
      const spread = (100 * (Math.max(...values) - Math.min(...values))) / mean(values);
      const ratio = name === 'conclave' && raw.length ? (mean(values) / mean(raw.map(perPacket))).toFixed(3) : '–';
      lines.push(
        `| ${link} | ${name} | ${values.map((value) => thousands(value, 1)).join(' · ')} | ${spread.toFixed(3)} % | **${thousands(mean(values))}** | ` +
          `${thousands(mean(mine.map((m) => m.instructions / m.inputPackets)))} | ${mine.map((m) => `${m.forwarded}/${m.expected}`).join(' · ')} | ${ratio} |`,
      );
    }
  }
  return lines.join('\n');
}

/** The functions whose own instructions differ most per forwarded packet, Conclave minus mediasoup. */
function functionDifference(conclave: Measurement, mediasoup: Measurement, top = 15): string {
  const mine = selfCostByFunction(readFileSync(conclave.dump!, 'utf8'));
  const raw = selfCostByFunction(readFileSync(mediasoup.dump!, 'utf8'));
  const rows = [...new Set([...mine.keys(), ...raw.keys()])]
    .map((fn) => ({ fn, conclave: (mine.get(fn) ?? 0) / conclave.forwarded, mediasoup: (raw.get(fn) ?? 0) / mediasoup.forwarded }))
    .map((row) => ({ ...row, difference: row.conclave - row.mediasoup }))
    .sort((a, b) => Math.abs(b.difference) - Math.abs(a.difference))
    .slice(0, top);
  const total = perPacket(conclave) - perPacket(mediasoup);
  return [
    `${conclave.link}, run ${conclave.repeat}: Conclave executes ${Math.abs(total).toFixed(1)} Ir ${total >= 0 ? 'more' : 'fewer'} per forwarded packet than bare mediasoup. ` +
      'Largest differences (own cost without callees, Ir per forwarded packet):',
    '',
    '| function | conclave | mediasoup | difference |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| \`${shortName(row.fn).replace(/\|/g, '\\|')}\` | ${row.conclave.toFixed(1)} | ${row.mediasoup.toFixed(1)} | ${row.difference >= 0 ? '+' : ''}${row.difference.toFixed(1)} |`,
    ),
  ].join('\n');
}

/** `npm run bench:sfu -- --instructions …`: 0 when every packet arrived in every window, else 1. */
export async function runInstructions(options: InstructionOptions, log: (line: string) => void): Promise<number> {
  const started = Date.now();
  const media = await loadMedia(undefined, log);
  const dumpDir = mkdtempSync(path.join(os.tmpdir(), 'conclave-callgrind-'));
  const restore = runWorkersUnderCallgrind(dumpDir);
  const measurements: Measurement[] = [];
  try {
    // Repeats outermost, so a slow spell on the shared machine touches every combination alike.
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      for (const link of options.links) {
        for (const name of options.paths) {
          const m = await measure(name, link, repeat, media, options, dumpDir);
          measurements.push(m);
          log(
            `  ${link} ${name} run ${repeat}: ${thousands(m.instructions)} Ir · ${m.forwarded}/${m.expected} forwarded · ` +
              `${thousands(perPacket(m))} Ir/forwarded packet · ${thousands(m.instructions / m.inputPackets)} Ir/input packet · window ${m.seconds.toFixed(1)} s (setup ${m.setupSeconds.toFixed(1)} s)`,
          );
        }
      }
    }
    mkdirSync(options.outDir, { recursive: true });
    const sections = [formatInstructions(measurements, options.repeats)];
    if (options.collect) {
      for (const m of measurements) {
        const kept = path.join(options.outDir, `callgrind.${m.link}-${m.path}-${m.repeat}`);
        copyFileSync(m.dump!, kept);
        m.dump = kept;
      }
      for (const link of options.links) {
        const pair = (name: FanoutPath['name']): Measurement | undefined => measurements.find((m) => m.link === link && m.path === name && m.repeat === 1);
        const conclave = pair('conclave');
        const mediasoup = pair('mediasoup');
        if (conclave && mediasoup) sections.push(functionDifference(conclave, mediasoup));
      }
    } else {
      for (const m of measurements) delete m.dump;
    }
    const seconds = (Date.now() - started) / 1000;
    const header =
      `mediasoup ${mediasoupVersion}, one worker under callgrind; ${options.consumers} consumers (${options.consumers / 2} receivers × audio+video, no transport-cc/REMB); ` +
      `${options.packets} input packets after ${options.warmupMs} ms of warm-up; capture ${captureId(media)}; ${os.availableParallelism()} cores.`;
    const report = `${header}\n\n${sections.join('\n\n')}`;
    writeFileSync(path.join(options.outDir, 'instructions.json'), `${JSON.stringify({ options, measurements, seconds }, null, 2)}\n`);
    writeFileSync(path.join(options.outDir, 'instructions.md'), `${report}\n`);
    log(`\n${report}\n\nTook ${seconds.toFixed(0)} s. Results: ${options.outDir}/instructions.json, instructions.md`);
    return measurements.every((m) => m.forwarded === m.expected) ? 0 : 1;
  } finally {
    restore();
    rmSync(dumpDir, { recursive: true, force: true });
  }
}
