import type { BotRecord, BotSample, RunResult, ServerSample, SyntheticRecord, SyntheticSample } from '../../scripts/loadtest/types.js';

export const T0 = 1_700_000_000_000;

type Camera = {
  consumerId: string;
  peerId: string;
  /** Frames decoded in the second up to each sample (epoch ms). */
  fps: number | ((t: number) => number);
  lossPerSecond?: number;
  /** Epoch ms from which the camera is published and received (its owner joined then); from the start if absent. */
  since?: number;
};

/**
 * Samples of a bot receiving the given cameras (video at `fps`, plus each one's audio at 50 pps),
 * once a second from `from` for `seconds` seconds.
 */
export function samplesFor(cameras: Camera[], from: number, seconds: number, frozen: { peerId: string; from: number; to: number }[] = []): BotSample[] {
  const samples: BotSample[] = [];
  const frames = new Map<string, number>();
  for (let s = 0; s <= seconds; s++) {
    const t = from + s * 1000;
    const consumers: BotSample['consumers'] = [];
    const present = cameras.filter((camera) => (camera.since ?? -Infinity) <= t);
    for (const camera of present) {
      const isFrozen = frozen.some((freeze) => freeze.peerId === camera.peerId && t > freeze.from && t <= freeze.to);
      const first = !frames.has(camera.consumerId);
      const rate = typeof camera.fps === 'function' ? camera.fps(t) : camera.fps;
      const decoded = (frames.get(camera.consumerId) ?? 0) + (first ? 1 : isFrozen ? 0 : rate);
      frames.set(camera.consumerId, decoded);
      // Counters start when the camera does.
      const elapsed = Math.round((t - Math.max(from, camera.since ?? from)) / 1000);
      const lost = (camera.lossPerSecond ?? 0) * elapsed;
      consumers.push(
        {
          consumerId: camera.consumerId,
          peerId: camera.peerId,
          source: 'camera',
          kind: 'video',
          paused: false,
          bytesReceived: 1000 * elapsed,
          packetsReceived: 100 * elapsed,
          packetsLost: lost,
          jitter: 0.01,
          framesDecoded: decoded,
          frameWidth: 640,
          frameHeight: 480,
        },
        {
          consumerId: `${camera.consumerId}-mic`,
          peerId: camera.peerId,
          source: 'mic',
          kind: 'audio',
          paused: false,
          bytesReceived: 100 * elapsed,
          packetsReceived: 50 * elapsed,
          packetsLost: 0,
          jitter: 0.002,
        },
      );
    }
    samples.push({ t, connection: 'joined', cameraPublishers: present.map((camera) => camera.peerId), consumers, producers: [] });
  }
  return samples;
}

export function bot(name: string, overrides: Partial<BotRecord> = {}): BotRecord {
  return {
    name,
    room: 'r',
    sender: true,
    startedAt: T0,
    joinMs: 1000,
    error: null,
    peerId: name,
    presentAtJoin: [],
    firstFrames: {},
    samples: [],
    ...overrides,
  };
}

export function serverSamples(from: number, seconds: number, cpuPerSecond: number[]): ServerSample[] {
  return Array.from({ length: seconds + 1 }, (_, s) => ({
    t: from + s * 1000,
    workers: cpuPerSecond.map((cpu, index) => ({ worker: String(index), cpuSeconds: cpu * s, producers: 2, consumers: 4 })),
    processCpuSeconds: 0.05 * s,
    rssBytes: 100 * 2 ** 20,
  }));
}

export function result(bots: BotRecord[], overrides: Partial<RunResult> = {}): RunResult {
  return {
    tool: 'conclave-loadtest',
    version: 1,
    startedAt: T0,
    endedAt: T0 + 20_000,
    allJoinedAt: T0 + 5_000,
    settledAt: null,
    settings: {
      url: 'http://localhost:3000',
      rooms: ['r'],
      participantsPerRoom: bots.length,
      sendersPerRoom: bots.length,
      durationSeconds: 15,
      settleSeconds: 30,
      joinRate: 1,
      perBrowser: 4,
      videoFile: null,
      botPrefix: 'bot',
      viewport: { width: 1280, height: 720 },
      query: {},
    },
    sources: [
      { host: 'here', botPrefix: 'bot', bots: bots.length, startedAt: T0, endedAt: T0 + 20_000, machine: [{ t: T0 + 10_000, cpuPercent: 50, cores: 2 }] },
    ],
    bots,
    server: serverSamples(T0, 20, [0.2, 0.1]),
    serverMetricsError: null,
    ...overrides,
  };
}

/** What a synthetic participant receives each second (cumulative counters in the samples). */
interface SyntheticRates {
  videos?: number;
  audios?: number;
  kbps?: number;
  lossPct?: number;
  /** Per video. */
  fps?: number;
  jitterMs?: number;
  layerSwitchesPerSecond?: number;
}

/** Samples of a synthetic participant once a second from `from` for `seconds` seconds. */
export function syntheticSamples(
  from: number,
  seconds: number,
  { videos = 2, audios = 2, kbps = 400, lossPct = 0, fps = 15, jitterMs = 5, layerSwitchesPerSecond = 0 }: SyntheticRates = {},
): SyntheticSample[] {
  const totals = (s: number, packetsPerSecond: number, bytesPerSecond: number, framesPerSecond: number, flowing: number) => ({
    packets: packetsPerSecond * s * (1 - lossPct / 100),
    bytes: bytesPerSecond * s,
    expected: packetsPerSecond * s,
    lost: (packetsPerSecond * s * lossPct) / 100,
    frames: framesPerSecond * s,
    flowing,
  });
  const bytesPerSecond = (kbps * 1000) / 8;
  return Array.from({ length: seconds + 1 }, (_, s) => ({
    t: from + s * 1000,
    connected: true,
    audio: totals(s, 50 * audios, bytesPerSecond * 0.2, 0, audios),
    video: totals(s, 100 * videos, bytesPerSecond * 0.8, fps * videos, videos),
    jitterMs,
    layerSwitches: layerSwitchesPerSecond * s,
    sent: { packets: 0, octets: 0, keyframes: 0 },
  }));
}

export function syntheticParticipant(name: string, overrides: Partial<SyntheticRecord> = {}): SyntheticRecord {
  return { name, room: 'r', sender: false, startedAt: T0, joinMs: 500, error: null, peerId: name, samples: [], streams: [], ...overrides };
}
