import { distribution, mean, type Distribution } from './distribution.js';
import { summarizeSyntheticRun, type SyntheticRunSummary } from './syntheticSummary.js';
import type { BotRecord, BotSample, RunResult, ServerSample } from './types.js';

export { distribution, mean, percentile, type Distribution } from './distribution.js';

type SampledConsumer = BotSample['consumers'][number];

/** Forwarded and shown: not paused by its sender, nor by this client because its tile is off screen. */
export const isWatched = (consumer: SampledConsumer): boolean => !consumer.paused && consumer.pausedByClient !== true;

/** Remote cameras this bot deliberately does not show (adaptive reception paused them: tile off the page). */
export function hiddenCameras(sample: BotSample): Set<string> {
  const cameras = sample.consumers.filter((consumer) => consumer.source === 'camera');
  const shown = new Set(cameras.filter(isWatched).map((consumer) => consumer.peerId));
  return new Set(cameras.filter((consumer) => !shown.has(consumer.peerId)).map((consumer) => consumer.peerId));
}

/** The remote cameras a bot should be playing in a sample: published, and not hidden on purpose. */
export function shownCameras(sample: BotSample): string[] {
  const hidden = hiddenCameras(sample);
  return sample.cameraPublishers.filter((peerId) => !hidden.has(peerId));
}

/** Of the given publishers' cameras, those a sample shows neither decoding nor hidden on purpose. */
export function missingCameras(sample: BotSample, publishers: string[]): string[] {
  const hidden = hiddenCameras(sample);
  const decoding = new Set(
    sample.consumers.filter((consumer) => consumer.source === 'camera' && (consumer.framesDecoded ?? 0) > 0).map((consumer) => consumer.peerId),
  );
  return publishers.filter((peerId) => !hidden.has(peerId) && !decoding.has(peerId));
}

/** What one consumer did between two samples. */
export interface ConsumerInterval {
  consumerId: string;
  peerId: string;
  kind: string;
  /** Video decoded frames per second; null for audio. */
  fps: number | null;
  received: number;
  lost: number;
  /** Had decoded frames before the interval began (so zero frames in it is a freeze, not a start). */
  started: boolean;
  /** Not watched at either end: paused by the sender, or by this client for a hidden tile. */
  paused: boolean;
}

/** Between two consecutive samples of one bot: its consumers' rates. */
export interface Interval {
  from: number;
  to: number;
  consumers: ConsumerInterval[];
  /** Remote cameras the bot should be playing (published and shown). */
  cameras: string[];
}

export function intervals(samples: BotSample[]): Interval[] {
  const result: Interval[] = [];
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1]!;
    const after = samples[i]!;
    const seconds = (after.t - before.t) / 1000;
    if (seconds <= 0) continue;
    const previous = new Map<string, SampledConsumer>(before.consumers.map((consumer) => [consumer.consumerId, consumer]));
    const consumers: ConsumerInterval[] = [];
    for (const now of after.consumers) {
      const then = previous.get(now.consumerId);
      if (!then) continue;
      const video = now.kind === 'video';
      consumers.push({
        consumerId: now.consumerId,
        peerId: now.peerId,
        kind: now.kind,
        fps: video ? Math.max(0, (now.framesDecoded ?? 0) - (then.framesDecoded ?? 0)) / seconds : null,
        received: Math.max(0, now.packetsReceived - then.packetsReceived),
        // packetsLost can go down when late packets arrive after all; never count that as negative loss.
        lost: Math.max(0, now.packetsLost - then.packetsLost),
        started: video ? (then.framesDecoded ?? 0) > 0 : then.packetsReceived > 0,
        paused: !isWatched(now) || !isWatched(then),
      });
    }
    result.push({ from: before.t, to: after.t, consumers, cameras: shownCameras(after) });
  }
  return result;
}

/** Loss as a percentage of packets that should have arrived. */
export function lossPercent(received: number, lost: number): number {
  return received + lost === 0 ? 0 : (100 * lost) / (received + lost);
}

/**
 * A bot's received video fps over an interval: the mean over every remote camera it should be
 * playing, counting a camera it does not receive at all as 0 fps.
 */
export function intervalFps(interval: Interval): number | null {
  const cameras = interval.consumers.filter((consumer) => consumer.fps !== null && !consumer.paused);
  const expected = new Set([...interval.cameras, ...cameras.map((consumer) => consumer.peerId)]);
  if (expected.size === 0) return null;
  const total = cameras.reduce((sum, consumer) => sum + (consumer.fps ?? 0), 0);
  return total / expected.size;
}

/** Every remote camera the bot shows decoded at least one frame during the interval. */
export function intervalPlaying(interval: Interval): boolean {
  const decoding = new Set(interval.consumers.filter((consumer) => (consumer.fps ?? 0) > 0).map((consumer) => consumer.peerId));
  return interval.cameras.every((peerId) => decoding.has(peerId));
}

/** Several bots' intervals at one moment, as one: mean and worst bot fps, overall loss, bots playing. */
export interface Moment {
  fpsMean: number | null;
  fpsMin: number | null;
  lossPct: number | null;
  playing: number;
}

export function moment(list: Interval[]): Moment {
  const fps = list.flatMap((interval) => {
    const value = intervalFps(interval);
    return value === null ? [] : [value];
  });
  const consumers = list.flatMap((interval) => interval.consumers);
  const received = consumers.reduce((sum, consumer) => sum + consumer.received, 0);
  const lost = consumers.reduce((sum, consumer) => sum + consumer.lost, 0);
  return {
    fpsMean: mean(fps),
    fpsMin: fps.length ? Math.min(...fps) : null,
    lossPct: received + lost > 0 ? lossPercent(received, lost) : null,
    playing: list.filter(intervalPlaying).length,
  };
}

/**
 * The shortest stretch without a decoded frame that counts as a freeze: one sampling interval
 * (nominally 1 s), allowing for the sampler's own jitter of a few tens of ms.
 */
export const FREEZE_MIN_MS = 900;

/** A stretch of ≥ FREEZE_MIN_MS in which a started, unpaused video decoded no frame. */
export interface Freeze {
  peerId: string;
  from: number;
  to: number;
}

export function freezes(list: Interval[]): Freeze[] {
  const found: Freeze[] = [];
  const open = new Map<string, Freeze>();
  for (const interval of list) {
    const frozenNow = new Set<string>();
    for (const consumer of interval.consumers) {
      if (consumer.fps !== 0 || consumer.paused || !consumer.started) continue;
      frozenNow.add(consumer.consumerId);
      const running = open.get(consumer.consumerId);
      if (running && running.to === interval.from) running.to = interval.to;
      else {
        const freeze = { peerId: consumer.peerId, from: interval.from, to: interval.to };
        open.set(consumer.consumerId, freeze);
        found.push(freeze);
      }
    }
    for (const id of open.keys()) if (!frozenNow.has(id)) open.delete(id);
  }
  return found.filter((freeze) => freeze.to - freeze.from >= FREEZE_MIN_MS);
}

/**
 * The stretch of the run the fps/loss/CPU figures describe: from the moment every bot received every
 * camera; when that never came, from the last join plus a settling time.
 */
export function steadyWindow(result: Pick<RunResult, 'allJoinedAt' | 'endedAt'> & Partial<Pick<RunResult, 'settledAt'>>): { from: number; to: number } {
  if (result.settledAt != null) return { from: result.settledAt, to: result.endedAt };
  const settle = Math.min(5000, Math.max(0, result.endedAt - result.allJoinedAt) / 3);
  return { from: result.allJoinedAt + settle, to: result.endedAt };
}

export interface BotSummary {
  name: string;
  room: string;
  sender: boolean;
  joined: boolean;
  error: string | null;
  joinMs: number | null;
  /** Remote cameras that were in the room before the bot's page loaded: what a newcomer waits for. */
  expected: number;
  firstFrameMs: number | null;
  allVideoMs: number | null;
  /** Remote cameras shown at the end, how many of them this bot decoded, and how many it hid (off its page). */
  cameraPublishers: number;
  videoFrom: number;
  hidden: number;
  receivingAll: boolean;
  fps: number | null;
  minConsumerFps: number | null;
  lossPct: number | null;
  jitterMs: number | null;
  freezes: number;
  freezeSeconds: number;
  /** Received video sizes at the end, e.g. "640x480". */
  resolutions: string[];
}

/** ms from the bot's navigation start to the first frame of each remote participant's camera. */
export function firstFrameTimes(bot: BotRecord): Map<string, number> {
  const times = new Map<string, number>(Object.entries(bot.firstFrames));
  // Fallback when the page's frame callback did not fire: the first sample that shows decoded frames.
  for (const sample of bot.samples) {
    for (const consumer of sample.consumers) {
      if (consumer.kind === 'video' && consumer.source === 'camera' && (consumer.framesDecoded ?? 0) > 0 && !times.has(consumer.peerId)) {
        times.set(consumer.peerId, sample.t - bot.startedAt);
      }
    }
  }
  return times;
}

/** Cameras that had a consumer but were never shown: a hidden tile is not a missing video. */
function neverShown(samples: BotSample[]): Set<string> {
  const hidden = new Set(samples.flatMap((sample) => [...hiddenCameras(sample)]));
  for (const sample of samples) for (const peerId of shownCameras(sample)) hidden.delete(peerId);
  return hidden;
}

/** When each bot of the run had joined (epoch ms), by participant id. */
export function joinTimes(bots: BotRecord[]): Map<string, number> {
  return new Map(bots.flatMap((bot) => (bot.peerId !== null && bot.joinMs !== null ? [[bot.peerId, bot.startedAt + bot.joinMs] as const] : [])));
}

/**
 * @param joinedAt when the run's other bots had joined: a camera whose owner was still joining when
 *   this bot's page started loading is not one this bot found in the room (participants from outside
 *   the run are taken as present before).
 */
export function summarizeBot(bot: BotRecord, window: { from: number; to: number }, joinedAt: Map<string, number> = new Map()): BotSummary {
  const everPublished = new Set(bot.samples.flatMap((sample) => sample.cameraPublishers));
  const hiddenThroughout = neverShown(bot.samples);
  const expected = bot.presentAtJoin.filter(
    (peerId) => everPublished.has(peerId) && !hiddenThroughout.has(peerId) && (joinedAt.get(peerId) ?? -Infinity) < bot.startedAt,
  );
  const frames = firstFrameTimes(bot);
  const expectedTimes = expected.map((peerId) => frames.get(peerId));
  const arrived = expectedTimes.filter((time): time is number => time !== undefined);

  // The end of the window, not of the bot's own samples: merged machines stop at different moments,
  // and the others' bots leaving then is not something this bot missed.
  const last = bot.samples.findLast((sample) => sample.t <= window.to) ?? bot.samples.at(-1);
  const decodedFrom = new Set(
    (last?.consumers ?? []).filter((consumer) => consumer.source === 'camera' && (consumer.framesDecoded ?? 0) > 0).map((consumer) => consumer.peerId),
  );
  const cameraPublishers = last ? shownCameras(last) : [];

  const inWindow = bot.samples.filter((sample) => sample.t >= window.from && sample.t <= window.to);
  const windowIntervals = intervals(inWindow);
  const perConsumer = new Map<string, { frames: number; seconds: number; peerId: string }>();
  let received = 0;
  let lost = 0;
  for (const interval of windowIntervals) {
    const seconds = (interval.to - interval.from) / 1000;
    for (const consumer of interval.consumers) {
      received += consumer.received;
      lost += consumer.lost;
      if (consumer.fps === null || consumer.paused) continue;
      const entry = perConsumer.get(consumer.consumerId) ?? { frames: 0, seconds: 0, peerId: consumer.peerId };
      entry.frames += consumer.fps * seconds;
      entry.seconds += seconds;
      perConsumer.set(consumer.consumerId, entry);
    }
  }
  const fpsByPeer = new Map<string, number>();
  for (const { frames, seconds, peerId } of perConsumer.values()) fpsByPeer.set(peerId, seconds > 0 ? frames / seconds : 0);
  // A camera that was shown but never reached this bot counts as 0 fps.
  const windowPublishers = new Set(windowIntervals.flatMap((interval) => interval.cameras));
  for (const peerId of windowPublishers) if (!fpsByPeer.has(peerId)) fpsByPeer.set(peerId, 0);
  const fpsValues = [...fpsByPeer.values()];

  const jitters = inWindow.flatMap((sample) => sample.consumers.filter((consumer) => consumer.kind === 'video').map((consumer) => consumer.jitter * 1000));
  const frozen = freezes(windowIntervals);
  const joined = bot.joinMs !== null;
  return {
    name: bot.name,
    room: bot.room,
    sender: bot.sender,
    joined,
    error: bot.error,
    joinMs: bot.joinMs,
    expected: expected.length,
    firstFrameMs: arrived.length > 0 ? Math.min(...arrived) : null,
    allVideoMs: expected.length > 0 && arrived.length === expected.length ? Math.max(...arrived) : null,
    cameraPublishers: cameraPublishers.length,
    videoFrom: cameraPublishers.filter((peerId) => decodedFrom.has(peerId)).length,
    hidden: last ? hiddenCameras(last).size : 0,
    receivingAll: joined && cameraPublishers.every((peerId) => decodedFrom.has(peerId)),
    fps: mean(fpsValues),
    minConsumerFps: fpsValues.length ? Math.min(...fpsValues) : null,
    lossPct: windowIntervals.length ? lossPercent(received, lost) : null,
    jitterMs: mean(jitters),
    freezes: frozen.length,
    freezeSeconds: frozen.reduce((sum, freeze) => sum + (freeze.to - freeze.from) / 1000, 0),
    resolutions: (last?.consumers ?? [])
      .filter((consumer) => consumer.kind === 'video' && isWatched(consumer) && (consumer.frameWidth ?? 0) > 0)
      .map((consumer) => `${consumer.frameWidth}x${consumer.frameHeight}`),
  };
}

/** CPU use between consecutive server samples, in % of one core (100 = one core busy). */
export interface ServerInterval {
  t: number;
  workers: { worker: string; cpuPercent: number; producers: number; consumers: number }[];
  processCpuPercent: number | null;
  rssBytes: number | null;
}

export function serverIntervals(samples: ServerSample[]): ServerInterval[] {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  const result: ServerInterval[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1]!;
    const after = sorted[i]!;
    const seconds = (after.t - before.t) / 1000;
    if (seconds <= 0.2) continue; // two machines' pollers a few ms apart: too short to divide by
    const cpuBefore = new Map(before.workers.map((worker) => [worker.worker, worker.cpuSeconds]));
    result.push({
      t: after.t,
      workers: after.workers.map((worker) => {
        const previous = cpuBefore.get(worker.worker);
        // A replaced worker starts from zero again.
        const used = previous === undefined || previous > worker.cpuSeconds ? 0 : worker.cpuSeconds - previous;
        return { worker: worker.worker, cpuPercent: (100 * used) / seconds, producers: worker.producers, consumers: worker.consumers };
      }),
      processCpuPercent:
        after.processCpuSeconds !== null && before.processCpuSeconds !== null
          ? (100 * Math.max(0, after.processCpuSeconds - before.processCpuSeconds)) / seconds
          : null,
      rssBytes: after.rssBytes,
    });
  }
  return result;
}

export interface ServerSummary {
  workers: { worker: string; cpuMean: number | null; cpuMax: number | null; consumersMax: number; producersMax: number }[];
  processCpuMean: number | null;
  processCpuMax: number | null;
  rssMaxBytes: number | null;
}

export function summarizeServer(list: ServerInterval[]): ServerSummary | null {
  if (list.length === 0) return null;
  const names = [...new Set(list.flatMap((interval) => interval.workers.map((worker) => worker.worker)))].sort();
  const processCpu = list.flatMap((interval) => (interval.processCpuPercent === null ? [] : [interval.processCpuPercent]));
  const rss = list.flatMap((interval) => (interval.rssBytes === null ? [] : [interval.rssBytes]));
  return {
    workers: names.map((name) => {
      const entries = list.flatMap((interval) => interval.workers.filter((worker) => worker.worker === name));
      const cpu = entries.map((entry) => entry.cpuPercent);
      return {
        worker: name,
        cpuMean: mean(cpu),
        cpuMax: cpu.length ? Math.max(...cpu) : null,
        consumersMax: Math.max(0, ...entries.map((entry) => entry.consumers)),
        producersMax: Math.max(0, ...entries.map((entry) => entry.producers)),
      };
    }),
    processCpuMean: mean(processCpu),
    processCpuMax: processCpu.length ? Math.max(...processCpu) : null,
    rssMaxBytes: rss.length ? Math.max(...rss) : null,
  };
}

export interface RunSummary {
  window: { from: number; to: number };
  bots: number;
  joined: number;
  failed: number;
  receivingAll: number;
  join: Distribution;
  firstFrame: Distribution;
  allVideo: Distribution;
  /** Over bots: each bot's mean received fps, loss % and jitter in the steady window. */
  fps: Distribution;
  loss: Distribution;
  jitterMs: Distribution;
  freezes: number;
  botsWithFreezes: number;
  resolutions: Record<string, number>;
  server: ServerSummary | null;
  machines: { host: string; cpuMean: number | null; cpuMax: number | null; cores: number | null; toolCpuMean: number | null }[];
  perBot: BotSummary[];
  /** The synthetic participants over the same window (absent from runs without them). */
  synthetic?: SyntheticRunSummary;
}

const present = (values: (number | null)[]): number[] => values.filter((value): value is number => value !== null);

export function summarizeRun(result: RunResult): RunSummary {
  const window = steadyWindow(result);
  const joined = joinTimes(result.bots);
  const perBot = result.bots.map((bot) => summarizeBot(bot, window, joined));
  const resolutions: Record<string, number> = {};
  for (const resolution of perBot.flatMap((bot) => bot.resolutions)) resolutions[resolution] = (resolutions[resolution] ?? 0) + 1;
  const inWindow = result.server.filter((sample) => sample.t >= window.from - 1500 && sample.t <= window.to);
  return {
    window,
    bots: perBot.length,
    joined: perBot.filter((bot) => bot.joined).length,
    failed: perBot.filter((bot) => !bot.joined).length,
    receivingAll: perBot.filter((bot) => bot.receivingAll).length,
    join: distribution(present(perBot.map((bot) => bot.joinMs))),
    firstFrame: distribution(present(perBot.map((bot) => bot.firstFrameMs))),
    allVideo: distribution(present(perBot.map((bot) => bot.allVideoMs))),
    fps: distribution(present(perBot.map((bot) => bot.fps))),
    loss: distribution(present(perBot.map((bot) => bot.lossPct))),
    jitterMs: distribution(present(perBot.map((bot) => bot.jitterMs))),
    freezes: perBot.reduce((sum, bot) => sum + bot.freezes, 0),
    botsWithFreezes: perBot.filter((bot) => bot.freezes > 0).length,
    resolutions,
    server: summarizeServer(serverIntervals(inWindow)),
    machines: result.sources.map((source) => {
      const inside = source.machine.filter((sample) => sample.t >= window.from && sample.t <= window.to);
      const cpu = inside.map((sample) => sample.cpuPercent);
      const tool = inside.flatMap((sample) => (sample.toolCpuPercent === undefined ? [] : [sample.toolCpuPercent]));
      return {
        host: source.host,
        cpuMean: mean(cpu),
        cpuMax: cpu.length ? Math.max(...cpu) : null,
        cores: source.machine[0]?.cores ?? null,
        toolCpuMean: mean(tool),
      };
    }),
    perBot,
    ...(result.synthetic ? { synthetic: summarizeSyntheticRun(result.synthetic, window) } : {}),
  };
}

export interface Thresholds {
  maxJoinMs: number | null;
  minFps: number | null;
  maxLossPct: number | null;
}

/** Each missed threshold, in words; empty when the run passed. Bots that never joined always fail it. */
export function missedThresholds(summary: RunSummary, thresholds: Thresholds): string[] {
  const missed: string[] = [];
  if (summary.failed > 0) missed.push(`${summary.failed} of ${summary.bots} bots did not join`);
  // Synthetic participants are load, not the measure, but one that failed means the load was not what was asked.
  const synthetic = summary.synthetic;
  if (synthetic && synthetic.failed > 0) missed.push(`${synthetic.failed} of ${synthetic.total} synthetic participants failed`);
  const { maxJoinMs, minFps, maxLossPct } = thresholds;
  if (maxJoinMs !== null && summary.bots > 0 && (summary.join.max ?? Infinity) > maxJoinMs) {
    missed.push(`slowest join ${fmt(summary.join.max)} ms > --max-join-ms ${maxJoinMs}`);
  }
  if (minFps !== null) {
    const worst = summary.perBot.filter((bot) => bot.joined && bot.fps !== null && bot.fps < minFps);
    if (worst.length > 0) missed.push(`${worst.length} bots below --min-fps ${minFps} (worst ${fmt(Math.min(...worst.map((bot) => bot.fps ?? 0)))} fps)`);
  }
  if (maxLossPct !== null) {
    const lossy = summary.perBot.filter((bot) => (bot.lossPct ?? 0) > maxLossPct);
    if (lossy.length > 0)
      missed.push(`${lossy.length} bots above --max-loss ${maxLossPct}% (worst ${fmt(Math.max(...lossy.map((bot) => bot.lossPct ?? 0)), 2)}%)`);
  }
  return missed;
}

export function fmt(value: number | null, digits = 0): string {
  return value === null ? '–' : value.toFixed(digits);
}
