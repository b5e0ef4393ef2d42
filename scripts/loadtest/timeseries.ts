import { intervals, moment, serverIntervals, type Interval, type Moment } from './stats.js';
import type { RunResult } from './types.js';

/** The bots, second by second (t in seconds since the run started). */
export interface BotPoint extends Moment {
  t: number;
  joined: number;
}

export function botSeries(result: RunResult): BotPoint[] {
  // Per second, each bot's latest interval ending in it (sampling can run late under load).
  const buckets = new Map<number, Map<string, Interval>>();
  for (const bot of result.bots) {
    for (const interval of intervals(bot.samples)) {
      const second = Math.round((interval.to - result.startedAt) / 1000);
      const bucket = buckets.get(second) ?? new Map<string, Interval>();
      bucket.set(bot.name, interval);
      buckets.set(second, bucket);
    }
  }
  const joinedAt = result.bots.flatMap((bot) => (bot.joinMs === null ? [] : [(bot.startedAt + bot.joinMs - result.startedAt) / 1000]));
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, bucket]) => ({ t, joined: joinedAt.filter((at) => at <= t).length, ...moment([...bucket.values()]) }));
}

/** Server CPU (% of one core) per worker and for the Node process, and its memory. */
export interface ServerPoint {
  t: number;
  workers: Record<string, number>;
  consumers: number;
  processCpu: number | null;
  rssMb: number | null;
}

export function serverSeries(result: RunResult): ServerPoint[] {
  return serverIntervals(result.server).map((interval) => ({
    t: (interval.t - result.startedAt) / 1000,
    workers: Object.fromEntries(interval.workers.map((worker) => [worker.worker, worker.cpuPercent])),
    consumers: interval.workers.reduce((sum, worker) => sum + worker.consumers, 0),
    processCpu: interval.processCpuPercent,
    rssMb: interval.rssBytes === null ? null : interval.rssBytes / 2 ** 20,
  }));
}

export function machineSeries(result: RunResult): { host: string; points: { t: number; cpu: number }[] }[] {
  return result.sources.map((source) => ({
    host: source.host,
    points: source.machine.map((sample) => ({ t: (sample.t - result.startedAt) / 1000, cpu: sample.cpuPercent })),
  }));
}
