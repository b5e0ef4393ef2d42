import os from 'node:os';
import { CLOCK_TICKS_PER_SECOND, descendants, machineTicks, pssBytes, readCommandLine, snapshot, type ProcessStat } from './procfs.js';

/** The processes the benchmark tells apart. */
export const GROUPS = ['compositor', 'ffmpeg', 'server', 'worker', 'participants'] as const;
export type Group = (typeof GROUPS)[number];

export const GROUP_LABELS: Record<Group, string> = {
  compositor: 'compositor (Chromium group)',
  ffmpeg: 'ffmpeg',
  server: 'server (Node, with this bench)',
  worker: 'mediasoup worker',
  participants: "participants' Chromium (4)",
};

export interface GroupReading {
  /** % of one core over the last interval. */
  cpuPercent: number;
  rssMb: number;
  pssMb: number;
  processes: number;
}

export interface Sample {
  /** Seconds since sampling began. */
  t: number;
  window: string | null;
  groups: Record<Group, GroupReading>;
  /** The whole machine, in % of one core (its maximum is cores × 100). */
  machineCpuPercent: number;
  /** The machine less this bench's groups: whatever else runs on it. */
  otherCpuPercent: number;
  /** The compositor's CPU by Chromium process type (browser, renderer, gpu-process, network, audio…). */
  compositorCpuByType: Record<string, number>;
}

export interface WhoIsWho {
  /** The mediasoup worker(s). */
  workers: () => number[];
  /** The running compositor's browser: the leader of its process group. */
  compositor: () => number | undefined;
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * Once a second, reads every process from /proc and sorts this bench's into groups: the
 * compositor's Chromium (every process in its process group, and anything it started outside it),
 * the ffmpeg children of this process, this process (the server runs in it), the mediasoup worker,
 * and the other Chromium processes below this one (the participants' browser). CPU is the utime+stime
 * delta of each group's processes over wall time; a process new since the last sample counts all
 * its time. Samples are tagged with the window being measured.
 */
export class Sampler {
  readonly samples: Sample[] = [];
  window: string | null = null;
  private previous = new Map<number, ProcessStat>();
  private previousMachine = machineTicks();
  private previousAt = performance.now();
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly who: WhoIsWho) {}

  start(intervalMs = 1000): void {
    this.previous = snapshot();
    this.previousMachine = machineTicks();
    this.previousAt = performance.now();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The pids in each group now (also used to check that a recorder's processes are gone). */
  membership(processes = snapshot()): Record<Group, Set<number>> {
    const self = process.pid;
    const below = descendants(processes, self);
    const workers = new Set(this.who.workers());
    const leader = this.who.compositor();
    const compositor = new Set<number>();
    if (leader !== undefined) {
      for (const stat of processes.values()) if (stat.pgrp === leader) compositor.add(stat.pid);
      for (const pid of descendants(processes, leader)) compositor.add(pid);
      if (processes.has(leader)) compositor.add(leader);
    }
    const ffmpeg = new Set([...below].filter((pid) => processes.get(pid)?.ppid === self && processes.get(pid)?.comm === 'ffmpeg'));
    // By name: the RTMP ingest and the ffprobe runs are this process's children too, and belong to no group.
    const participants = new Set([...below].filter((pid) => !compositor.has(pid) && /^chrom/.test(processes.get(pid)?.comm ?? '')));
    return { compositor, ffmpeg, server: new Set([self]), worker: workers, participants };
  }

  private sample(): void {
    const now = performance.now();
    const seconds = (now - this.previousAt) / 1000;
    const processes = snapshot();
    const members = this.membership(processes);
    const cpuPercent = (pid: number): number => {
      const stat = processes.get(pid);
      return stat ? (100 * (stat.cpuTicks - (this.previous.get(pid)?.cpuTicks ?? 0))) / CLOCK_TICKS_PER_SECOND / seconds : 0;
    };
    const compositorCpuByType: Record<string, number> = {};
    for (const pid of members.compositor) {
      const type = chromiumType(pid);
      compositorCpuByType[type] = Math.round(((compositorCpuByType[type] ?? 0) + cpuPercent(pid)) * 10) / 10;
    }
    const read = (pids: Set<number>): GroupReading => {
      let ticks = 0;
      let rss = 0;
      let pss = 0;
      let count = 0;
      for (const pid of pids) {
        const stat = processes.get(pid);
        if (!stat) continue;
        count++;
        ticks += stat.cpuTicks - (this.previous.get(pid)?.cpuTicks ?? 0);
        rss += stat.rssBytes;
        pss += pssBytes(pid);
      }
      return { cpuPercent: Math.round((1000 * ticks) / CLOCK_TICKS_PER_SECOND / seconds) / 10, rssMb: mb(rss), pssMb: mb(pss), processes: count };
    };
    const groups = Object.fromEntries(GROUPS.map((group) => [group, read(members[group])])) as Record<Group, GroupReading>;
    const machine = machineTicks();
    const total = machine.total - this.previousMachine.total;
    const machineCpuPercent = total > 0 ? Math.round((1000 * (machine.busy - this.previousMachine.busy) * os.availableParallelism()) / total) / 10 : 0;
    const ours = GROUPS.reduce((sum, group) => sum + groups[group].cpuPercent, 0);
    const otherCpuPercent = Math.max(0, Math.round((machineCpuPercent - ours) * 10) / 10);
    this.samples.push({
      t: Math.round((now - this.startedAt) / 100) / 10,
      window: this.window,
      groups,
      machineCpuPercent,
      otherCpuPercent,
      compositorCpuByType,
    });
    this.previous = processes;
    this.previousMachine = machine;
    this.previousAt = now;
  }
}

/**
 * What a Chromium process is, from its command line: browser, renderer, gpu-process, zygote, or the
 * utility's service (network, audio…). Chromium rewrites its process title, so the arguments may
 * come as one string.
 */
function chromiumType(pid: number): string {
  const args = readCommandLine(pid).join(' ');
  const type = /--type=(\S+)/.exec(args)?.[1];
  const service = /--utility-sub-type=([^.\s]+)/.exec(args)?.[1];
  return (type === 'utility' && service ? service : type) ?? (args ? 'browser' : '?');
}

export const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const round = (value: number | null): number | null => (value === null ? null : Math.round(value * 10) / 10);

export interface WindowSummary {
  window: string;
  samples: number;
  /** Medians over the window's samples; a group with no process in the window is null. */
  groups: Record<Group, { cpuPercent: number; rssMb: number; pssMb: number; processes: number } | null>;
  machineCpuPercent: number | null;
  otherCpuPercent: number | null;
  /** The compositor's CPU by process type (medians, % of one core), most first. */
  compositorCpuByType: Record<string, number>;
  /** Frames per second the participants decoded of each other's cameras (median over every pair). */
  callFps?: number | null;
}

export function summarize(samples: Sample[], window: string): WindowSummary {
  const mine = samples.filter((sample) => sample.window === window);
  const groups = Object.fromEntries(
    GROUPS.map((group) => {
      const present = mine.map((sample) => sample.groups[group]).filter((reading) => reading.processes > 0);
      if (present.length === 0) return [group, null];
      const pick = (key: keyof GroupReading): number => round(median(present.map((reading) => reading[key])))!;
      return [group, { cpuPercent: pick('cpuPercent'), rssMb: pick('rssMb'), pssMb: pick('pssMb'), processes: pick('processes') }];
    }),
  ) as WindowSummary['groups'];
  const withCompositor = mine.filter((sample) => sample.groups.compositor.processes > 0);
  const typeNames = [...new Set(withCompositor.flatMap((sample) => Object.keys(sample.compositorCpuByType)))];
  const compositorCpuByType = Object.fromEntries(
    typeNames
      .map((type) => [type, round(median(withCompositor.map((sample) => sample.compositorCpuByType[type] ?? 0)))!] as const)
      .sort(([, a], [, b]) => b - a),
  );
  return {
    window,
    samples: mine.length,
    groups,
    compositorCpuByType,
    machineCpuPercent: round(median(mine.map((sample) => sample.machineCpuPercent))),
    otherCpuPercent: round(median(mine.map((sample) => sample.otherCpuPercent))),
  };
}
