import type { MediaSource } from '../../../shared/protocol.js';
import type { StreamReception } from './reception.js';

/** What a synthetic participant records: shapes shared by its thread, the pool, the results and the report. */

export interface SyntheticPlan {
  room: string;
  name: string;
  /** Publishes a camera (three simulcast layers) and a microphone. */
  sender: boolean;
}

/** One received track, as counted (no decoding). */
export interface SyntheticStreamStats {
  consumerId: string;
  peerId: string;
  source: MediaSource;
  kind: 'audio' | 'video';
  /** Not forwarded: paused by us (beyond the videos we show) or by its sender. */
  paused: boolean;
  packets: number;
  bytes: number;
  expected: number;
  lost: number;
  /** Interarrival jitter, ms. */
  jitterMs: number;
  /** Frames completed (video). */
  frames: number;
  /** The layer the server says it forwards (video), or null. */
  spatialLayer: number | null;
  layerSwitches: number;
}

/** Counters summed over a participant's received streams of one kind, closed ones included (they only grow). */
export interface SyntheticTotals {
  packets: number;
  bytes: number;
  expected: number;
  lost: number;
  /** Frames completed (video). */
  frames: number;
  /** Streams being forwarded now (not paused by us or by their sender). */
  flowing: number;
}

/** A synthetic participant's counters at one moment: small, as hundreds are kept every second. */
export interface SyntheticSample {
  t: number;
  connected: boolean;
  audio: SyntheticTotals;
  video: SyntheticTotals;
  /** The highest interarrival jitter of its streams now, ms. */
  jitterMs: number;
  layerSwitches: number;
  sent: { packets: number; octets: number; keyframes: number };
}

export interface SyntheticRecord {
  name: string;
  room: string;
  sender: boolean;
  startedAt: number;
  /** ms from start to joined with media connected. */
  joinMs: number | null;
  error: string | null;
  peerId: string | null;
  samples: SyntheticSample[];
  /** Each stream as last sampled. */
  streams: SyntheticStreamStats[];
  /** Each stream as the measured window began (absent if it never did). */
  streamsAtStart?: SyntheticStreamStats[];
}

/** A participant's record before it joins. */
export function newRecord({ name, room, sender }: SyntheticPlan): SyntheticRecord {
  return { name, room, sender, startedAt: Date.now(), joinMs: null, error: null, peerId: null, samples: [], streams: [] };
}

export const emptyTotals = (): SyntheticTotals => ({ packets: 0, bytes: 0, expected: 0, lost: 0, frames: 0, flowing: 0 });

export function addStream(totals: SyntheticTotals, reception: StreamReception, flowing: boolean): void {
  totals.packets += reception.packets;
  totals.bytes += reception.bytes;
  totals.expected += reception.expected;
  totals.lost += reception.lost;
  totals.frames += reception.frames;
  if (flowing) totals.flowing++;
}
