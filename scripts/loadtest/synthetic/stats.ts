import type { SyntheticRecord, SyntheticSample, SyntheticTotals } from '../types.js';

/** What one synthetic participant received over a window. */
export interface SyntheticSummary {
  name: string;
  room: string;
  sender: boolean;
  joinMs: number | null;
  error: string | null;
  /** Lost / expected over the window, %, by kind and together (null: nothing expected). */
  audioLossPct: number | null;
  videoLossPct: number | null;
  lossPct: number | null;
  /** Received, kbit/s. */
  receivedKbps: number | null;
  /** Video frames received per second, per video being forwarded. */
  videoFps: number | null;
  /** Streams forwarded at the window's end. */
  audioFlowing: number;
  videoFlowing: number;
  jitterMsMax: number | null;
  layerSwitches: number;
  /** Sent, kbit/s (senders). */
  sentKbps: number | null;
}

const lossPercent = (expected: number, lost: number): number | null => (expected > 0 ? (Math.max(0, lost) / expected) * 100 : null);

const difference = (a: SyntheticTotals, b: SyntheticTotals): SyntheticTotals => ({
  packets: b.packets - a.packets,
  bytes: b.bytes - a.bytes,
  expected: b.expected - a.expected,
  lost: b.lost - a.lost,
  frames: b.frames - a.frames,
  flowing: b.flowing,
});

/** The first and last samples inside [from, to], if there are two. */
export function windowSamples(samples: SyntheticSample[], from: number, to: number): [SyntheticSample, SyntheticSample] | null {
  const inside = samples.filter((sample) => sample.t >= from && sample.t <= to);
  return inside.length >= 2 ? [inside[0]!, inside.at(-1)!] : null;
}

export function summarizeSynthetic(record: SyntheticRecord, window: { from: number; to: number }): SyntheticSummary {
  const base: SyntheticSummary = {
    name: record.name,
    room: record.room,
    sender: record.sender,
    joinMs: record.joinMs,
    error: record.error,
    audioLossPct: null,
    videoLossPct: null,
    lossPct: null,
    receivedKbps: null,
    videoFps: null,
    audioFlowing: 0,
    videoFlowing: 0,
    jitterMsMax: null,
    layerSwitches: 0,
    sentKbps: null,
  };
  const ends = windowSamples(record.samples, window.from, window.to);
  if (!ends) return base;
  const [first, last] = ends;
  const seconds = (last.t - first.t) / 1000;
  const audio = difference(first.audio, last.audio);
  const video = difference(first.video, last.video);
  const inside = record.samples.filter((sample) => sample.t >= first.t && sample.t <= last.t);
  return {
    ...base,
    audioLossPct: lossPercent(audio.expected, audio.lost),
    videoLossPct: lossPercent(video.expected, video.lost),
    lossPct: lossPercent(audio.expected + video.expected, audio.lost + video.lost),
    receivedKbps: seconds > 0 ? ((audio.bytes + video.bytes) * 8) / seconds / 1000 : null,
    videoFps: seconds > 0 && last.video.flowing > 0 ? video.frames / seconds / last.video.flowing : null,
    audioFlowing: last.audio.flowing,
    videoFlowing: last.video.flowing,
    jitterMsMax: Math.max(...inside.map((sample) => sample.jitterMs)),
    layerSwitches: last.layerSwitches - first.layerSwitches,
    sentKbps: record.sender && seconds > 0 ? ((last.sent.octets - first.sent.octets) * 8) / seconds / 1000 : null,
  };
}

/** Joined, received and lost across the latest interval of every synthetic participant: the progress line's part. */
export function syntheticNow(records: SyntheticRecord[]): { joined: number; sending: number; receivedMbps: number; lossPct: number | null } {
  let bits = 0;
  let expected = 0;
  let lost = 0;
  for (const record of records) {
    const [a, b] = record.samples.slice(-2);
    if (!a || !b || b.t <= a.t) continue;
    const seconds = (b.t - a.t) / 1000;
    bits += ((b.audio.bytes + b.video.bytes - a.audio.bytes - a.video.bytes) * 8) / seconds;
    expected += b.audio.expected + b.video.expected - a.audio.expected - a.video.expected;
    lost += b.audio.lost + b.video.lost - a.audio.lost - a.video.lost;
  }
  const joined = records.filter((record) => record.joinMs !== null && record.error === null);
  return { joined: joined.length, sending: joined.filter((record) => record.sender).length, receivedMbps: bits / 1e6, lossPct: lossPercent(expected, lost) };
}
