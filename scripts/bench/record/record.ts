// Over ~350 lines on purpose: one benchmark's whole run (options, recorder and streamer phases, the
// leftover-process check, the report), read in the order it happens.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs, promisify } from 'node:util';
import { pino, type Logger } from 'pino';
import type { Browser } from 'playwright-core';
import type { EgressKind } from '../../../shared/recording.js';
import { parseConfig } from '../../../server/src/config.js';
import { startServer, type ConclaveServer } from '../../../server/src/server.js';
import { Bot } from '../../loadtest/bot.js';
import type { BotSample } from '../../loadtest/types.js';
import { launchChromium } from '../../loadtest/chromium.js';
import { isWatched, missingCameras } from '../../loadtest/stats.js';
import { machineTicks, snapshot } from './procfs.js';
import { startRtmpIngest, type RtmpIngest } from './rtmp.js';
import { GROUP_LABELS, GROUPS, median, Sampler, summarize, type WindowSummary } from './sampler.js';
import { benchOptions } from '../cliOptions.js';

/**
 * `npm run bench:record`: what one recording and one live stream of a 4-person call cost. A server
 * in this process (one mediasoup worker) and four headless-Chromium participants in one room (the
 * load test's bots: a 320×180 test-pattern camera and the fake microphone each); then three
 * windows, each measured from /proc once a second: the call alone, the call being recorded (admin
 * API; a compositor Chromium, ffmpeg remuxing its WebM), and the call being streamed to a local
 * nginx-rtmp (a compositor, ffmpeg encoding H.264/AAC). Prints the medians per process group and
 * window, and the recording's size, bitrate, duration and frame rate.
 */

interface Options {
  resolution: string;
  fps: number;
  baselineSeconds: number;
  measureSeconds: number;
  warmupSeconds: number;
  out: string;
}

const HELP = `Usage: npm run bench:record -- [--resolution 1280x720] [--fps 25] [--baseline S (default 20)]
  [--measure S (default 30, for the recording and the stream each)] [--warmup S (default 5, after each start, not measured)]
  [--out FILE (default bench-results/record-<timestamp>.json)]
CONCLAVE_TEST_CLIENT_DIST serves a client built elsewhere (default client/dist; it must hold recorder.html).`;

const ROOM = 'bench-record';
const PARTICIPANTS = 4;
/**
 * The participants stand in for people on other machines, yet share the two cores with what is
 * measured: small windows, and a 320×180 15 fps moving test pattern as the camera (Chromium's own
 * fake camera is 1280×720 in three simulcast layers). Even so the four take over one core.
 */
const VIEWPORT = { width: 640, height: 360 };
const CAMERA = { width: 320, height: 180, frameRate: 15 };
/** Each participant plays the video of one other (the last to speak), not three; every camera still goes to the compositor. */
const PARTICIPANT_QUERY = { lastN: '1' };
const SETTLE_TIMEOUT_MS = 45_000;
/** How long a stopped recorder's processes may take to be gone before they count as left over. */
const EXIT_GRACE_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const run = promisify(execFile);

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      resolution: { type: 'string' },
      fps: { type: 'string' },
      baseline: { type: 'string' },
      measure: { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const resolution = values.resolution ?? '1280x720';
  if (!/^\d{3,4}x\d{3,4}$/.test(resolution)) throw new Error('--resolution must look like 1280x720');
  const number = (value: string | undefined, fallback: number, name: string, min: number): number => {
    const parsed = Number(value ?? fallback);
    if (!(parsed >= min)) throw new Error(`--${name} must be ≥ ${min}`);
    return parsed;
  };
  const fps = number(values.fps, 25, 'fps', 5);
  if (!Number.isInteger(fps) || fps > 60) throw new Error('--fps must be a whole number from 5 to 60');
  return {
    resolution,
    fps,
    baselineSeconds: number(values.baseline, 20, 'baseline', 3),
    measureSeconds: number(values.measure, 30, 'measure', 3),
    warmupSeconds: number(values.warmup, 5, 'warmup', 0),
    out: values.out ?? path.join('bench-results', `record-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
  };
}

interface LogEntry {
  level?: number;
  recordings?: boolean;
  kind?: EgressKind;
  msg?: string;
  reason?: string;
  error?: string;
}

/**
 * The server's log: warnings and errors, and the recordings' own lines (each output's start and end
 * with its reason), so that an output that stops by itself says why; `onEntry` sees each of them.
 */
function recordingsLog(onEntry: (entry: LogEntry) => void): Logger {
  const lines = new Writable({
    write(chunk: Buffer, _encoding, done) {
      // Never throws: an exception here would surface inside the server's own code that logged.
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        let entry: LogEntry = { level: 50 };
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          // not JSON: show it
        }
        if ((entry.level ?? 50) < 40 && !entry.recordings) continue;
        process.stdout.write(`  server: ${line}\n`);
        onEntry(entry);
      }
      done();
    },
  });
  return pino({ level: 'info', base: undefined }, lines);
}

/** The admin API, as an operator calls it. */
async function admin<T>(server: ConclaveServer, key: string, method: 'POST' | 'DELETE', route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Waits until every participant decodes every other one's camera: the call is in its steady state. */
async function settle(bots: Bot[]): Promise<boolean> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const since = Date.now();
    await Promise.all(bots.map((bot) => bot.sample()));
    const settled = bots.every((bot) => {
      const sample = bot.record.samples.at(-1);
      const others = bots.filter((other) => other !== bot).map((other) => other.record.peerId!);
      return sample !== undefined && sample.t >= since - 1000 && missingCameras(sample, others).length === 0;
    });
    if (settled) return true;
    await sleep(1000);
  }
  return false;
}

export interface FileFacts {
  bytes: number;
  durationSeconds: number | null;
  bitrateKbps: number | null;
  video: { codec: string; width: number; height: number; frames: number; fps: number | null } | null;
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

interface FfprobeStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  nb_read_packets?: string;
  sample_rate?: string;
  channels?: number;
  avg_frame_rate?: string;
}

/** ffprobe's view of the recording: duration, and frames counted packet by packet (VP8: one per frame). */
async function probeFile(ffprobe: string, file: string, bytes: number): Promise<FileFacts> {
  const { stdout } = await run(
    ffprobe,
    [
      '-v',
      'error',
      '-count_packets',
      '-show_entries',
      'stream=codec_type,codec_name,width,height,nb_read_packets,sample_rate,channels:format=duration',
      '-of',
      'json',
      file,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const json = JSON.parse(stdout) as { streams?: FfprobeStream[]; format?: { duration?: string } };
  const duration = json.format?.duration === undefined ? null : Math.round(Number(json.format.duration) * 10) / 10;
  const video = json.streams?.find((stream) => stream.codec_type === 'video');
  const audio = json.streams?.find((stream) => stream.codec_type === 'audio');
  const frames = Number(video?.nb_read_packets ?? 0);
  return {
    bytes,
    durationSeconds: duration,
    bitrateKbps: duration ? Math.round((bytes * 8) / duration / 1000) : null,
    video: video
      ? {
          codec: video.codec_name,
          width: video.width ?? 0,
          height: video.height ?? 0,
          frames,
          fps: duration ? Math.round((frames / duration) * 10) / 10 : null,
        }
      : null,
    audio: audio ? { codec: audio.codec_name, sampleRate: Number(audio.sample_rate ?? 0), channels: audio.channels ?? 0 } : null,
  };
}

/** What a player of the live stream gets (a short ffprobe of the RTMP URL while it runs). */
async function probeStream(ffprobe: string, url: string): Promise<string> {
  try {
    const { stdout } = await run(
      ffprobe,
      ['-v', 'error', '-rw_timeout', '8000000', '-show_entries', 'stream=codec_type,codec_name,width,height,avg_frame_rate,sample_rate', '-of', 'json', url],
      { timeout: 12_000 },
    );
    const streams = (JSON.parse(stdout) as { streams?: FfprobeStream[] }).streams ?? [];
    return streams
      .map((stream) =>
        stream.codec_type === 'video'
          ? `${stream.codec_name} ${stream.width}x${stream.height} at ${stream.avg_frame_rate?.replace(/\/1$/, '')} fps`
          : `${stream.codec_name} ${stream.sample_rate} Hz`,
      )
      .join(', ');
  } catch (error) {
    const { stderr, killed } = error as { stderr?: string; killed?: boolean };
    return `nothing: ${killed ? 'no answer within 12 s' : stderr?.trim().split('\n').at(-1) || (error as Error).message.split('\n')[0]}`;
  }
}

/** The participants' camera clip (CAMERA), made once with ffmpeg and kept in .cache. */
async function cameraClip(ffmpeg: string): Promise<string> {
  const file = path.resolve('.cache', 'bench-record', `testsrc2-${CAMERA.width}x${CAMERA.height}-${CAMERA.frameRate}.y4m`);
  if (existsSync(file)) return file;
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.part.y4m`;
  const source = `testsrc2=size=${CAMERA.width}x${CAMERA.height}:rate=${CAMERA.frameRate}`;
  await run(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, '-t', '5', '-pix_fmt', 'yuv420p', partial]);
  renameSync(partial, file);
  return file;
}

/** The call's own video: frames per second each participant decoded of each camera it shows, since `since` (the median). */
function callFps(bots: Bot[], since: Map<Bot, BotSample | undefined>): number | null {
  const rates: number[] = [];
  for (const bot of bots) {
    const before = since.get(bot);
    const after = bot.record.samples.at(-1);
    if (!before || !after || after.t <= before.t) continue;
    for (const consumer of after.consumers) {
      if (consumer.source !== 'camera' || !isWatched(consumer)) continue;
      const earlier = before.consumers.find((other) => other.consumerId === consumer.consumerId);
      if (earlier) rates.push(((consumer.framesDecoded ?? 0) - (earlier.framesDecoded ?? 0)) / ((after.t - before.t) / 1000));
    }
  }
  const value = median(rates);
  return value === null ? null : Math.round(value * 10) / 10;
}

/** The machine's busy share over `ms`, in % of one core, before anything of the bench runs. */
async function backgroundLoad(ms: number): Promise<number> {
  const before = machineTicks();
  await sleep(ms);
  const after = machineTicks();
  return Math.round((1000 * (after.busy - before.busy) * os.availableParallelism()) / (after.total - before.total)) / 10;
}

/** Pids that still run (not merely unreaped) among `pids`. */
function stillRunning(pids: number[]): number[] {
  const processes = snapshot();
  return pids.filter((pid) => {
    const stat = processes.get(pid);
    return stat !== undefined && stat.state !== 'Z';
  });
}

async function leftOver(pids: number[]): Promise<{ pid: number; comm: string }[]> {
  const deadline = Date.now() + EXIT_GRACE_MS;
  let left = stillRunning(pids);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(250);
    left = stillRunning(pids);
  }
  const processes = snapshot();
  return left.map((pid) => ({ pid, comm: processes.get(pid)?.comm ?? '?' }));
}

function formatTable(windows: WindowSummary[]): string {
  const cell = (value: string | number | null | undefined): string => (value === null || value === undefined ? '–' : String(value)).padStart(8);
  const row = (label: string, cells: (string | number | null | undefined)[]): string => `${label.padEnd(36)}${cells.map(cell).join('')}`;
  const lines = [
    `${''.padEnd(36)}${windows.map((window) => `${window.window} (${window.samples} s)`.padStart(24)).join('')}`,
    row(
      '',
      windows.flatMap(() => ['CPU %', 'RSS MB', 'PSS MB']),
    ),
  ];
  for (const group of GROUPS) {
    const readings = windows.map((window) => window.groups[group]);
    lines.push(
      row(
        GROUP_LABELS[group],
        readings.flatMap((reading) => [reading?.cpuPercent, reading?.rssMb, reading?.pssMb]),
      ),
    );
  }
  lines.push(
    row(
      'everything else on the machine',
      windows.flatMap((window) => [window.otherCpuPercent, null, null]),
    ),
  );
  lines.push(
    row(
      'whole machine (of 100 × cores)',
      windows.flatMap((window) => [window.machineCpuPercent, null, null]),
    ),
  );
  lines.push(
    row(
      'call video: fps decoded per camera',
      windows.flatMap((window) => [window.callFps, null, null]),
    ),
  );
  return lines.join('\n');
}

export async function recordCli(argv: string[]): Promise<number> {
  const parsed = benchOptions(argv, parseOptions, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  const began = Date.now();
  const say = (message: string): void => void process.stdout.write(`[${String(Math.round((Date.now() - began) / 1000)).padStart(3)} s] ${message}\n`);
  const print = (text: string): void => void process.stdout.write(`${text}\n`);
  const clientDist = path.resolve(process.env.CONCLAVE_TEST_CLIENT_DIST ?? 'client/dist');
  if (!existsSync(path.join(clientDist, 'recorder.html'))) {
    process.stderr.write(`${clientDist}/recorder.html is missing: build the client first (npm run build:client)\n`);
    return 2;
  }
  const ffmpeg = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';
  const ffprobe = path.join(path.dirname(ffmpeg), path.basename(ffmpeg).replace('ffmpeg', 'ffprobe'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conclave-bench-record-'));
  const adminKey = randomBytes(24).toString('hex');
  const config = parseConfig({
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LISTEN_IP: '127.0.0.1',
    RTC_PORT: '0',
    NUM_WORKERS: '1',
    LOG_LEVEL: 'warn',
    CLIENT_DIST: clientDist,
    RATE_LIMIT_PER_SECOND: '1000',
    ADMIN_API_KEY: adminKey,
    RECORDINGS_DIR: path.join(dir, 'recordings'),
    RECORDING_MIN_FREE_MB: '64',
    RECORDING_RESOLUTION: options.resolution,
    RECORDING_FRAME_RATE: String(options.fps),
    FFMPEG_PATH: ffmpeg,
  });
  const started = new Date();
  const background = await backgroundLoad(3000);
  say(`before the bench, the machine is ${background} % busy (of ${os.availableParallelism() * 100} %)`);
  /** How each output last ended, as the server logged it. */
  const endings = new Map<EgressKind, string>();
  const server = await startServer(
    config,
    recordingsLog((entry) => {
      if (entry.kind && entry.msg?.endsWith(' ended')) endings.set(entry.kind, `${entry.reason ?? '?'}${entry.error ? `: ${entry.error}` : ''}`);
    }),
  );
  for (const { worker } of server.pool.live) worker.on('died', (error) => say(`the mediasoup worker (pid ${worker.pid}) died: ${error.message}`));
  let ingest: RtmpIngest | undefined;
  let browser: Browser | undefined;
  const bots: Bot[] = [];
  let running: EgressKind | null = null;
  const sampler = new Sampler({
    workers: () => server.pool.live.map(({ worker }) => worker.pid),
    compositor: () => (running ? server.recordings.compositorPid(ROOM, running) : undefined),
  });
  const leftovers: { kind: EgressKind; pid: number; comm: string }[] = [];
  /** What went wrong with the outputs: each makes the run fail, and is printed with the numbers. */
  const problems: string[] = [];
  /** Seconds from the admin API call to media being written: the compositor's start. */
  const startSeconds: Partial<Record<EgressKind, number>> = {};

  const callFpsOf = new Map<string, number | null>();
  /** Measures one window: `warmup` seconds unmeasured after whatever just started, then `seconds`. */
  const measure = async (window: string, seconds: number, warmup: number): Promise<void> => {
    await sleep(warmup * 1000);
    await Promise.all(bots.map((bot) => bot.sample()));
    const before = new Map(bots.map((bot) => [bot, bot.record.samples.at(-1)]));
    sampler.window = window;
    say(`measuring ${window} for ${seconds} s…`);
    await sleep(seconds * 1000);
    sampler.window = null;
    await Promise.all(bots.map((bot) => bot.sample()));
    callFpsOf.set(window, callFps(bots, before));
  };
  /** Starts an output through the admin API; false (a problem noted) when it did not start. */
  const start = async (kind: EgressKind, body: object): Promise<boolean> => {
    running = kind;
    const asked = Date.now();
    try {
      await admin(server, adminKey, 'POST', `/rooms/${ROOM}/${kind}`, body);
      startSeconds[kind] = Math.round((Date.now() - asked) / 100) / 10;
      return true;
    } catch (error) {
      problems.push(`the ${kind} did not start: ${(error as Error).message}`);
      running = null;
      return false;
    }
  };
  /** Stops an output (unless it already ended) and notes any of its processes that outlive the stop. */
  const stop = async (kind: EgressKind): Promise<void> => {
    const members = sampler.membership();
    const pids = [...members.compositor, ...members.ffmpeg];
    const status = server.recordings.status(ROOM);
    if (kind === 'recording' ? status.recording : status.streaming) await admin(server, adminKey, 'DELETE', `/rooms/${ROOM}/${kind}`);
    else problems.push(`the ${kind} ended by itself before the bench stopped it (${endings.get(kind) ?? 'no reason logged'})`);
    running = null;
    for (const left of await leftOver(pids)) leftovers.push({ kind, ...left });
  };

  try {
    ingest = await startRtmpIngest();
    browser = await launchChromium({ videoFile: await cameraClip(ffmpeg) });
    say(`server at ${server.url}, RTMP ingest and participants' Chromium started; joining…`);
    for (let i = 1; i <= PARTICIPANTS; i++) bots.push(new Bot({ name: `rec-${i}`, room: ROOM, sender: true }));
    await Promise.all(bots.map((bot) => bot.join(browser!, { url: server.url, viewport: VIEWPORT, query: PARTICIPANT_QUERY })));
    const failed = bots.find((bot) => bot.record.error !== null);
    if (failed) throw new Error(`${failed.plan.name} could not join: ${failed.record.error}`);
    if (!(await settle(bots))) say(`warning: not every participant decoded every camera within ${SETTLE_TIMEOUT_MS / 1000} s`);
    say(`${PARTICIPANTS} participants in ${ROOM}, every camera decoded; output ${options.resolution} at ${options.fps} fps`);
    sampler.start();

    await measure('baseline', options.baselineSeconds, 2);

    let fileFacts: (FileFacts & { endReason: string | null }) | null = null;
    if (await start('recording', { layout: 'grid' })) {
      await measure('recording', options.measureSeconds, options.warmupSeconds);
      await stop('recording');
      const recording = (await server.recordings.store.list()).find((info) => info.room === ROOM);
      if (recording && recording.bytes > 0) {
        fileFacts = { ...(await probeFile(ffprobe, server.recordings.store.fileOf(recording.id), recording.bytes)), endReason: recording.endReason };
      } else problems.push('the recording left no file');
    }

    const streamKey = randomBytes(12).toString('hex');
    let played = 'nothing (the stream did not start)';
    if (await start('stream', { url: ingest.url(streamKey), layout: 'grid' })) {
      await measure('stream', options.measureSeconds, options.warmupSeconds);
      played = await probeStream(ffprobe, ingest.url(streamKey));
      await stop('stream');
    }
    const published = ingest.log().includes(`publish: name='${streamKey}'`);
    if (!published) problems.push('nginx-rtmp saw no publish');
    sampler.stop();

    const windows = ['baseline', 'recording', 'stream'].map((window) => ({ ...summarize(sampler.samples, window), callFps: callFpsOf.get(window) ?? null }));
    const cpu = os.cpus();
    const machine = {
      cores: os.availableParallelism(),
      cpu: cpu[0]?.model ?? '?',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(),
      node: process.version,
    };
    print('');
    print(`Recording and streaming a ${PARTICIPANTS}-person call: ${options.resolution} at ${options.fps} fps, ${machine.cores} cores (${machine.cpu})`);
    print('Medians of 1 s samples; CPU in % of one core; RSS summed over the group (shared pages counted in each process), PSS split them.');
    print(formatTable(windows));
    print('');
    for (const window of windows) {
      const types = Object.entries(window.compositorCpuByType);
      if (types.length > 0) print(`compositor CPU by process (${window.window}): ${types.map(([type, cpu]) => `${type} ${cpu} %`).join(', ')}`);
    }
    print(`media flowing after: recording ${startSeconds.recording ?? '–'} s, stream ${startSeconds.stream ?? '–'} s from the admin API call`);
    const video = fileFacts?.video;
    print(
      fileFacts
        ? `recording file: ${(fileFacts.bytes / 1e6).toFixed(2)} MB, ${fileFacts.durationSeconds ?? '?'} s (ffprobe), ${fileFacts.bitrateKbps ?? '?'} kbit/s; ` +
            `${video ? `${video.codec} ${video.width}x${video.height}, ${video.frames} frames = ${video.fps ?? '?'} fps` : 'no video'}` +
            `${fileFacts.audio ? `; ${fileFacts.audio.codec} ${fileFacts.audio.sampleRate} Hz` : '; no audio'}`
        : 'recording file: none',
    );
    print(`stream: ${published ? 'nginx-rtmp took the publish' : 'nginx-rtmp saw no publish'}; a player got ${played}`);
    print(
      leftovers.length === 0
        ? `after each stop, every compositor and ffmpeg process was gone within ${EXIT_GRACE_MS / 1000} s`
        : `LEFT OVER after stopping: ${leftovers.map((left) => `${left.kind} ${left.comm} (pid ${left.pid})`).join(', ')}`,
    );
    for (const problem of problems) print(`PROBLEM: ${problem}`);
    mkdirSync(path.dirname(options.out), { recursive: true });
    writeFileSync(
      options.out,
      `${JSON.stringify(
        {
          tool: 'conclave-bench-record',
          version: 1,
          startedAt: started.toISOString(),
          command: `npm run bench:record${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
          machine,
          backgroundCpuPercent: background,
          options,
          participants: PARTICIPANTS,
          participantViewport: VIEWPORT,
          participantQuery: PARTICIPANT_QUERY,
          participantCamera: CAMERA,
          windows,
          startSeconds,
          recording: fileFacts,
          stream: { published, played },
          leftovers,
          problems,
          samples: sampler.samples,
        },
        null,
        2,
      )}\n`,
    );
    say(`Results: ${options.out}`);
    return leftovers.length === 0 && problems.length === 0 ? 0 : 1;
  } finally {
    sampler.stop();
    await Promise.all(bots.map((bot) => bot.close()));
    await browser?.close();
    await server.close();
    await ingest?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
