import type { BotRecord, BotSample, RunResult, ServerSample } from '../../scripts/loadtest/types.js';

export const T0 = 1_700_000_000_000;

type Camera = { consumerId: string; peerId: string; fps: number; lossPerSecond?: number };

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
    for (const camera of cameras) {
      const isFrozen = frozen.some((freeze) => freeze.peerId === camera.peerId && t > freeze.from && t <= freeze.to);
      const decoded = (frames.get(camera.consumerId) ?? 0) + (s === 0 ? 1 : isFrozen ? 0 : camera.fps);
      frames.set(camera.consumerId, decoded);
      const lost = (camera.lossPerSecond ?? 0) * s;
      consumers.push(
        {
          consumerId: camera.consumerId,
          peerId: camera.peerId,
          source: 'camera',
          kind: 'video',
          paused: false,
          bytesReceived: 1000 * s,
          packetsReceived: 100 * s,
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
          bytesReceived: 100 * s,
          packetsReceived: 50 * s,
          packetsLost: 0,
          jitter: 0.002,
        },
      );
    }
    samples.push({ t, connection: 'joined', cameraPublishers: cameras.map((camera) => camera.peerId), consumers, producers: [] });
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
