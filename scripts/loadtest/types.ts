import type { ConsumerStats, ProducerStats } from '../../client/src/conference/types.js';
import type { SyntheticRecord } from './synthetic/records.js';

export type { SyntheticRecord, SyntheticSample, SyntheticStreamStats, SyntheticTotals } from './synthetic/records.js';

/** What one load-test run was asked to do (the parsed command line, minus output-only flags). */
export interface RunSettings {
  url: string;
  rooms: string[];
  participantsPerRoom: number;
  sendersPerRoom: number;
  durationSeconds: number;
  /** At most this long after every bot joined, the run waits for every bot to decode every camera before it measures. */
  settleSeconds: number;
  joinRate: number;
  perBrowser: number;
  videoFile: string | null;
  botPrefix: string;
  /** The bots' window: it decides how many tiles a page shows and how big (so which layers they ask for). */
  viewport: { width: number; height: number };
  /** Extra URL parameters for every bot (e.g. adaptive=0, pageSize=16). */
  query: Record<string, string>;
  /** Synthetic participants beside the bots (absent from runs before them, or without any). */
  synthetic?: SyntheticSettings;
}

/** Light participants in Node (werift), no browser: see scripts/loadtest/synthetic/. */
export interface SyntheticSettings {
  perRoom: number;
  sendersPerRoom: number;
  /** Most videos each receives (lowest layer), as a small window would; the rest are paused. */
  maxVideos: number;
  /** Started per second, after the bots. */
  joinRate: number;
  /** Worker threads they run in. */
  threads: number;
}

/** A bot's counters at one moment, as `window.conclave.stats()` and `state()` gave them. */
export interface BotSample {
  /** Epoch ms when the page took the stats. */
  t: number;
  connection: string;
  /** Remote participants publishing an unpaused camera at that moment. */
  cameraPublishers: string[];
  consumers: (Pick<
    ConsumerStats,
    | 'consumerId'
    | 'peerId'
    | 'source'
    | 'kind'
    | 'paused'
    | 'bytesReceived'
    | 'packetsReceived'
    | 'packetsLost'
    | 'jitter'
    | 'framesDecoded'
    | 'frameWidth'
    | 'frameHeight'
  > &
    /** Adaptive reception (absent from clients before it): paused because the tile is not shown, and the layer forwarded. */
    Partial<Pick<ConsumerStats, 'pausedByClient' | 'spatialLayer'>>)[];
  producers: Pick<ProducerStats, 'source' | 'kind' | 'paused' | 'packetsSent' | 'framesEncoded' | 'frameWidth' | 'frameHeight'>[];
}

/** Everything one bot saw. Durations are ms from the page's navigation start. */
export interface BotRecord {
  name: string;
  room: string;
  sender: boolean;
  /** Epoch ms of navigation start. */
  startedAt: number;
  joinMs: number | null;
  error: string | null;
  peerId: string | null;
  /** Remote participants already in the room when this bot's join completed. */
  presentAtJoin: string[];
  /** ms from navigation start to the first presented frame of each remote participant's camera. */
  firstFrames: Record<string, number>;
  samples: BotSample[];
}

/** The server's counters at one moment, from its /metrics. */
export interface ServerSample {
  t: number;
  workers: { worker: string; cpuSeconds: number; producers: number; consumers: number }[];
  processCpuSeconds: number | null;
  rssBytes: number | null;
}

/** The bots' own machine at one moment (to tell a saturated load generator from a saturated server). */
export interface MachineSample {
  t: number;
  /** Busy share of all cores since the previous sample, 0–100. */
  cpuPercent: number;
  cores: number;
  /**
   * The load-test process itself (all its threads: synthetic participants, the bots' driver; not
   * Chromium), % of one core; absent from older results.
   */
  toolCpuPercent?: number;
}

/** One machine's part of a run. */
export interface RunSource {
  host: string;
  botPrefix: string;
  bots: number;
  startedAt: number;
  endedAt: number;
  machine: MachineSample[];
}

/** The raw result of a run: one machine's, or several merged by `loadtest:merge`. */
export interface RunResult {
  tool: 'conclave-loadtest';
  version: 1;
  startedAt: number;
  endedAt: number;
  /** Epoch ms by which every bot had joined (or failed): the steady-state window starts after it. */
  allJoinedAt: number;
  /**
   * Epoch ms when every joined bot first decoded every camera it shows (the measured window starts
   * there); null when that had not happened within the settle time (or in an older result).
   */
  settledAt: number | null;
  settings: RunSettings;
  sources: RunSource[];
  bots: BotRecord[];
  server: ServerSample[];
  /** Why server metrics are missing, if they are. */
  serverMetricsError: string | null;
  /** The synthetic participants (absent from runs without them). */
  synthetic?: SyntheticRecord[];
}
