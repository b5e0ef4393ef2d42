import type { types as client } from 'mediasoup-client';
import { type MediaSource, type RequestName, Requests } from '../../../shared/protocol.js';
import type { TestParticipant } from '../participant.js';
import type { Expectation } from './judge.js';
import { Rng } from './random.js';
import { serverView } from './wire.js';

/** Valid requests to start from, the messages a fuzzer sends, and what a fuzzer is told. */

/** DTLS parameters of a pretend browser, from the seeded stream. */
export function dtlsParameters(rng: Rng): Record<string, unknown> {
  const value = Array.from({ length: 32 }, () => rng.int(0, 255).toString(16).padStart(2, '0').toUpperCase()).join(':');
  return { role: rng.pick(['client', 'server', 'auto']), fingerprints: [{ algorithm: 'sha-256', value }] };
}

/** Valid RTP parameters for one track of `source`, built from the router's capabilities. */
export function rtpParameters(rng: Rng, capabilities: client.RtpCapabilities, source: MediaSource): Record<string, unknown> {
  const audio = source === 'mic';
  const mimeType = audio ? 'audio/opus' : 'video/VP8';
  const codec = capabilities.codecs?.find((candidate) => candidate.mimeType.toLowerCase() === mimeType.toLowerCase());
  if (!codec) throw new Error(`the router offers no ${mimeType}`);
  return {
    codecs: [
      audio
        ? { mimeType: codec.mimeType, payloadType: codec.preferredPayloadType, clockRate: 48000, channels: 2 }
        : { mimeType: codec.mimeType, payloadType: codec.preferredPayloadType, clockRate: 90000 },
    ],
    encodings: [{ ssrc: rng.int(1_000, 2 ** 31) }],
    rtcp: { cname: `fuzz-${rng.int(0, 1e9).toString(36)}`, reducedSize: true },
  };
}

/** Ids of the real call's objects: fuzzers may name them, but must never get to act on them. */
export interface ForeignIds {
  room: string;
  peers: string[];
  transports: string[];
  producers: string[];
  consumers: string[];
}

export interface Exchange {
  fuzzer: string;
  seq: number;
  event: string | number;
  note: string;
  expected: Expectation;
  /** The acknowledgement's arguments; undefined if none came in time. */
  answers: unknown[] | undefined;
}

export interface FuzzerOptions {
  name: string;
  /** Distinguishes this fuzzer's private rooms and sanitised values from the others'. */
  index: number;
  rng: Rng;
  participant: TestParticipant;
  foreign: ForeignIds;
  /** Joined before fuzzing and rejoined whenever a fuzzed `leave` takes the fuzzer out; undefined: stay in the lobby. */
  home: string | undefined;
  /** Acknowledged requests in flight at once. */
  window: number;
  ackTimeoutMs: number;
  /** Largest text packet to send, in bytes (under the server's MAX_MESSAGE_KB). */
  maxBytes: number;
  /**
   * Also send what triggered the server bugs this suite found (see `sendRegressionTriggers` and the
   * guards marked "Regression"), so they stay fixed; FUZZ_REGRESSIONS=0 withholds them.
   */
  regressions: boolean;
}

export interface Message {
  event: string | number;
  args: unknown[];
  ack: boolean;
  note: string;
}

export type Parsed =
  { status: 'unknown' } | { status: 'invalid' } | { status: 'throws' } | { status: 'valid'; event: RequestName; data: Record<string, unknown> };

/** The request as the server's dispatcher parses it (`Requests[event].safeParse(payload ?? {})`). */
export function parse(message: Message): Parsed {
  const { event } = message;
  if (typeof event !== 'string' || !Object.hasOwn(Requests, event)) return { status: 'unknown' };
  const name = event as RequestName;
  try {
    const parsed = Requests[name].safeParse(serverView(message.args)[0] ?? {});
    return parsed.success ? { status: 'valid', event: name, data: parsed.data } : { status: 'invalid' };
  } catch {
    return { status: 'throws' };
  }
}

export interface Prepared {
  message: Message;
  changesPlace: boolean;
  expected: Expectation;
}

export interface LooseEmitter {
  emit(event: string | number, ...args: unknown[]): unknown;
  timeout(ms: number): { emit(event: string | number, ...args: unknown[]): unknown };
}

export const REQUEST_NAMES = Object.keys(Requests) as RequestName[];
/** Names socket.io-client refuses to emit (they are covered by raw packets instead). */
export const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
export const UNKNOWN_EVENTS: readonly (string | number)[] = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  'error',
  'message',
  'connection',
  'welcome',
  'newConsumer',
  'participantJoined',
  'ping',
  'JOIN',
  'Join',
  ' join',
  'join ',
  'join\u0000',
  'pro\u200bduce',
  'produce\u202e',
  '',
  'leave()',
  'join,leave',
  'a'.repeat(2_000),
  0,
  1,
  -1,
  42,
  1.5,
  2 ** 53,
];
/** Requests naming one of the sender's own transports, producers or consumers. */
export const ID_EVENTS = new Set<RequestName>([
  'connectTransport',
  'produce',
  'produceData',
  'closeProducer',
  'setProducerPaused',
  'resumeConsumer',
  'setConsumerPreferences',
  'restartIce',
]);
