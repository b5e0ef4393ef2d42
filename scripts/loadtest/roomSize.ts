/**
 * The run as the room grows: bots join first, then synthetic participants, so each moment has a room
 * size, and what the server spent and the bots saw can be read against it instead of against time.
 */
import { mean } from './distribution.js';
import { firstFrameTimes, freezes, intervalFps, intervals, joinTimes, shownCameras, type Interval } from './stats.js';
import { serverSeries } from './timeseries.js';
import type { RunResult } from './types.js';

/** The frame rate every bot must keep for the room size to count as held, when no --min-fps is given. */
export const DEFAULT_QUALITY_FPS = 15;

/**
 * A camera counts toward a bot's frame rate (at 0 until it arrives) from this long after its owner,
 * or the bot itself, joined: how long a newcomer takes to appear is the first-frame figure, not a drop
 * in what everyone already sees.
 */
export const NEWCOMER_GRACE_MS = 5000;

/** How many had joined by a moment: in all, in the fullest room, and in each room. */
export interface RoomSize {
  participants: number;
  largestRoom: number;
  byRoom: Record<string, number>;
}

/**
 * Room size at any epoch ms, bots and synthetic participants alike, each from the moment its join
 * completed to the end: records do not say when someone left, so one that failed later still counts.
 */
export function roomSizes(result: RunResult): (t: number) => RoomSize {
  const joins = [...result.bots, ...(result.synthetic ?? [])]
    .flatMap((participant) => (participant.joinMs === null ? [] : [{ room: participant.room, at: participant.startedAt + participant.joinMs }]))
    .sort((a, b) => a.at - b.at);
  return (t) => {
    const byRoom: Record<string, number> = {};
    let participants = 0;
    for (const join of joins) {
      if (join.at > t) break;
      byRoom[join.room] = (byRoom[join.room] ?? 0) + 1;
      participants++;
    }
    return { participants, largestRoom: Math.max(0, ...Object.values(byRoom)), byRoom };
  };
}

/** At one server sample: the room size then, and CPU in % of one core per worker and for the Node process. */
export interface CpuAtSize extends RoomSize {
  /** s since the run started. */
  t: number;
  workers: Record<string, number>;
  processCpu: number | null;
}

/** Server CPU per worker against the participants in the run, at each server sample. */
export function cpuByRoomSize(result: RunResult): CpuAtSize[] {
  const sizeAt = roomSizes(result);
  return serverSeries(result).map((point) => ({
    t: point.t,
    ...sizeAt(result.startedAt + point.t * 1000),
    workers: point.workers,
    processCpu: point.processCpu,
  }));
}

/** Measured seconds in a row the worst bot must stay below the threshold for a room size to fail. */
export const QUALITY_SECONDS = 3;

/** One second of the bots' view, with the room size then (t in s since the run started). */
export interface QualityPoint {
  t: number;
  participants: number;
  largestRoom: number;
  /** Bots with a frame rate this second (past their own grace time, with cameras to show). */
  bots: number;
  fpsMean: number | null;
  fpsMin: number | null;
  /** Some bot had a video without a frame for a freeze's length (see FREEZE_MIN_MS) in this second. */
  frozen: boolean;
}

/** When each participant of the run joined (epoch ms), by participant id: bots and synthetic ones. */
function participantJoins(result: RunResult): Map<string, number> {
  const joined = joinTimes(result.bots);
  for (const record of result.synthetic ?? [])
    if (record.peerId !== null && record.joinMs !== null) joined.set(record.peerId, record.startedAt + record.joinMs);
  return joined;
}

/** A bot's fps over an interval, counting only cameras past the newcomer grace time (from outside the run: always). */
function establishedFps(interval: Interval, botJoinedAt: number, joinedAt: Map<string, number>): number | null {
  if (interval.from < botJoinedAt + NEWCOMER_GRACE_MS) return null;
  const established = (peerId: string): boolean => (joinedAt.get(peerId) ?? -Infinity) + NEWCOMER_GRACE_MS <= interval.from;
  return intervalFps({
    ...interval,
    consumers: interval.consumers.filter((consumer) => established(consumer.peerId)),
    cameras: interval.cameras.filter(established),
  });
}

/** Second by second: the room size, the bots' fps (mean and worst bot) and whether any bot froze. */
export function qualityByRoomSize(result: RunResult): QualityPoint[] {
  const sizeAt = roomSizes(result);
  const joinedAt = participantJoins(result);
  // Per second, each bot's latest interval ending in it, as the time series take them.
  const buckets = new Map<number, Map<string, { fps: number | null; frozen: boolean }>>();
  for (const bot of result.bots) {
    if (bot.joinMs === null) continue;
    const list = intervals(bot.samples);
    const frozen = freezes(list);
    for (const interval of list) {
      const second = Math.round((interval.to - result.startedAt) / 1000);
      const bucket = buckets.get(second) ?? new Map<string, { fps: number | null; frozen: boolean }>();
      bucket.set(bot.name, {
        fps: establishedFps(interval, bot.startedAt + bot.joinMs, joinedAt),
        frozen: frozen.some((freeze) => freeze.from <= interval.from && interval.to <= freeze.to),
      });
      buckets.set(second, bucket);
    }
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, bucket]) => {
      const values = [...bucket.values()];
      const fps = values.flatMap((value) => (value.fps === null ? [] : [value.fps]));
      const { participants, largestRoom } = sizeAt(result.startedAt + t * 1000);
      return {
        t,
        participants,
        largestRoom,
        bots: fps.length,
        fpsMean: mean(fps),
        fpsMin: fps.length ? Math.min(...fps) : null,
        frozen: values.some((value) => value.frozen),
      };
    });
}

/** Where the bots' quality first gave way as the room grew. Sizes are the fullest room's. */
export interface QualityLimit {
  minFps: number;
  /** The largest room size with every bot at ≥ minFps and no freeze, before the first failure; null when the first measured second failed. */
  heldUpTo: number | null;
  /** The first second of a drop below minFps lasting QUALITY_SECONDS, or of a freeze; null when none. */
  failed: { largestRoom: number; t: number; fpsMin: number | null; frozen: boolean } | null;
  /** The largest room size measured. */
  largestRoom: number;
}

/** Null when no second had a bot measuring anything. */
export function qualityLimit(points: QualityPoint[], minFps: number = DEFAULT_QUALITY_FPS): QualityLimit | null {
  const measured = points.filter((point) => point.fpsMin !== null || point.frozen);
  if (measured.length === 0) return null;
  // A frame rate read from one-second samples jitters by a frame or two (14.8 against 15): only a
  // drop that lasts QUALITY_SECONDS measured seconds fails, dated from its first second. A freeze fails at once.
  const below = (point: QualityPoint): boolean => point.fpsMin !== null && point.fpsMin < minFps;
  const index = measured.findIndex(
    (point, at) => point.frozen || (below(point) && measured.slice(at, at + QUALITY_SECONDS).every((next) => below(next) || next.frozen)),
  );
  const held = index === -1 ? measured : measured.slice(0, index);
  const failed = index === -1 ? null : measured[index]!;
  return {
    minFps,
    heldUpTo: held.length ? Math.max(...held.map((point) => point.largestRoom)) : null,
    failed: failed && { largestRoom: failed.largestRoom, t: failed.t, fpsMin: failed.fpsMin, frozen: failed.frozen },
    largestRoom: Math.max(...measured.map((point) => point.largestRoom)),
  };
}

/** Synthetic senders' cameras reaching the bots that were in the room before them. */
export interface NewcomerCameras {
  /** ms from a synthetic sender's join to a bot's first frame of its camera, one per (bot, sender). */
  delays: number[];
  /** (bot, sender) pairs in which the bot showed the camera at some point; those without a delay never got a frame. */
  shown: number;
}

/** Clocks of different machines in a merged run may disagree, so across machines these are approximate. */
export function syntheticFirstFrames(result: RunResult): NewcomerCameras {
  const senders = (result.synthetic ?? []).flatMap((record) =>
    record.sender && record.peerId !== null && record.joinMs !== null
      ? [{ room: record.room, peerId: record.peerId, joinedAt: record.startedAt + record.joinMs }]
      : [],
  );
  const found: NewcomerCameras = { delays: [], shown: 0 };
  for (const bot of result.bots) {
    if (bot.joinMs === null) continue;
    const botJoinedAt = bot.startedAt + bot.joinMs;
    const frames = firstFrameTimes(bot);
    const everShown = new Set(bot.samples.flatMap(shownCameras));
    for (const sender of senders) {
      if (sender.room !== bot.room || sender.joinedAt < botJoinedAt || !everShown.has(sender.peerId)) continue;
      found.shown++;
      const frame = frames.get(sender.peerId);
      if (frame !== undefined) found.delays.push(bot.startedAt + frame - sender.joinedAt);
    }
  }
  return found;
}
