import { Buffer } from 'node:buffer';
import type { types as client } from 'mediasoup-client';
import { ErrorCode } from '../../shared/errors.js';
import { DATA_LABELS } from '../../shared/data.js';
import { Requests, type MediaSource, type RequestName } from '../../shared/protocol.js';
import type { TestParticipant } from './participant.js';

/**
 * Protocol fuzzing: a seeded PRNG, generators of hostile values, mutations of valid requests, the
 * exact view the server gets of what a client emits, and a fuzzing client that knows, for every
 * request it sends, which answers are acceptable.
 */

// ---- Seeded randomness ----

/** FUZZ_SEED from the environment (to replay a failure), else a fresh one. */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(given)}`);
    return seed >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** One of `choices`, with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [weight, value] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    const last = choices[choices.length - 1];
    if (!last) throw new Error('weighted pick from an empty list');
    return last[1];
  }

  /** An independent stream, so each fuzzer's sequence does not depend on how they interleave. */
  fork(salt: number): Rng {
    return new Rng(Math.imul(this.seed ^ 0x9e3779b9, salt * 2 + 1) ^ (salt << 16));
  }
}

// ---- Hostile values ----

/** Defines `key` as an own enumerable property, even `__proto__` (assignment would set the prototype). */
export function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export const EDGE_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  7,
  8,
  9,
  16,
  17,
  32,
  33,
  64,
  65,
  127,
  128,
  255,
  256,
  4096,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  -1e21,
  1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
  48000,
  90000,
];

export const EDGE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t',
  '0',
  '-1',
  '1e400',
  'NaN',
  'null',
  'undefined',
  'true',
  'false',
  '[]',
  '{}',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
  '\u0000',
  '\u0000join',
  'join\u0000',
  '\r\n',
  '\u001b[31mred',
  '\u007f',
  '\u0085',
  '\u202egnp.exe',
  '\u202d\u202e\u202a\u202b\u202c',
  '\u2066\u2067\u2068\u2069',
  '\u200b',
  '\u200d\u200c',
  '\ufeff',
  '\ufffe',
  '\uffff',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\ud83d\ude00',
  '\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67',
  'Z\u0335\u0321\u031b\u0334a\u0335l\u0337g\u0338o',
  '\u0645\u0631\u062d\u0628\u0627',
  '\u05e9\u05dc\u05d5\u05dd',
  '\u4f60\u597d',
  '\uff21\uff22\uff23',
  'e\u0301',
  '\u0130\u0131',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg/onload=alert(1)>',
  "'; DROP TABLE rooms; --",
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  'file:///etc/passwd',
  '%s%s%s%n',
  '%00',
  '${process.exit(1)}',
  '{{constructor.constructor("return process")()}}',
  '$(reboot)',
  '`id`',
  'audio/opus',
  'video/VP8',
  'audio/VP8',
  'video/opus',
  'sha-256',
  'sha-1024',
  'auto',
  'client',
  'server',
  'mic',
  'camera',
  'screen',
  'audio',
  'video',
  'data',
  'A'.repeat(64),
  'A'.repeat(65),
  'a'.repeat(129),
  'x'.repeat(257),
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:mediasoup:params:rtp-hdrext:packet-id',
  'urn:evil',
];

const CHAR_RANGES: readonly (readonly [number, number])[] = [
  [0x20, 0x7e], // printable ASCII
  [0x20, 0x7e],
  [0x00, 0x1f], // C0 controls
  [0x7f, 0x9f], // DEL and C1 controls
  [0x200b, 0x200f], // zero-width characters, LRM/RLM
  [0x202a, 0x202e], // bidi embeddings and overrides
  [0x2066, 0x2069], // bidi isolates
  [0x0300, 0x036f], // combining marks
  [0x0590, 0x06ff], // Hebrew, Arabic
  [0x4e00, 0x9fff], // CJK
  [0xd800, 0xdfff], // lone surrogates
  [0xfe00, 0xfe0f], // variation selectors
  [0xfff0, 0xffff], // specials and noncharacters
  [0x1f300, 0x1f64f], // emoji (astral)
];

export function hostileString(rng: Rng, maxLength = 80): string {
  if (rng.chance(0.35)) return rng.pick(EDGE_STRINGS);
  const length = rng.int(0, maxLength);
  let text = '';
  for (let i = 0; i < length; i++) {
    const [low, high] = rng.pick(CHAR_RANGES);
    text += String.fromCodePoint(rng.int(low, high));
  }
  return text;
}

/** 1 000 to 100 000 characters: big, yet (as sent) well under the server's message size limit. */
export function longString(rng: Rng): string {
  const length = rng.int(1_000, 100_000);
  const unit = rng.weighted<string>([
    [4, 'A'],
    [1, 'ab\u202e'],
    [1, '\u4f60'],
    [1, '\u0000'],
    [1, hostileString(rng, 16) || 'x'],
  ]);
  // Escaped or multi-byte units cost up to six bytes each on the wire: fewer of them.
  const chars = /^[\x20-\x7e]+$/.test(unit) ? length : Math.ceil(length / 4);
  return unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
}

export function randomId(rng: Rng): string {
  const hex = (n: number): string => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

function hostilePrimitive(rng: Rng): unknown {
  return rng.weighted<() => unknown>([
    [4, () => rng.pick(EDGE_NUMBERS)],
    [4, () => hostileString(rng)],
    [1, () => rng.chance(0.5)],
    [1, () => null],
    [1, () => undefined],
    [1, () => rng.next() * 10 ** rng.int(-10, 30) * (rng.chance(0.5) ? -1 : 1)],
  ])();
}

const NEST_KEYS = [
  'a',
  'codecs',
  'parameters',
  'rtpParameters',
  'encodings',
  'transportId',
  'dtlsParameters',
  'fingerprints',
  '__proto__',
  'constructor',
  'prototype',
  '0',
  '',
];

/** Objects and arrays nested 50 to 500 deep. */
export function deepNest(rng: Rng, depth: number = rng.int(50, 500)): unknown {
  let value: unknown = hostilePrimitive(rng);
  for (let level = 0; level < depth; level++) {
    if (rng.chance(0.45)) {
      value = [value];
    } else {
      const wrapper = {};
      setOwn(wrapper, rng.pick(NEST_KEYS), value);
      value = wrapper;
    }
  }
  return value;
}

/** Parsed from JSON so that `__proto__` is an own key, as it is for the server. */
export const POLLUTING_JSON: readonly string[] = [
  '{"__proto__":{"polluted":"__proto__"}}',
  '{"constructor":{"prototype":{"polluted":"constructor.prototype"}}}',
  '{"__proto__":{"__proto__":{"polluted":"__proto__.__proto__"}}}',
  '{"prototype":{"polluted":"prototype"}}',
  '{"__proto__":null}',
  '{"__proto__":[{"polluted":"array"}]}',
  '{"__proto__":{"isAdmin":true,"ok":true,"role":"moderator","polluted":"flags"}}',
  '{"constructor":{"name":"Object","prototype":{"toString":"polluted","polluted":"toString"}}}',
  '{"toString":"not a function","valueOf":"not a function","hasOwnProperty":"nope","toJSON":"nope","then":"nope"}',
  '{"length":{"toString":"not a function","valueOf":"not a function"}}',
  '{"__proto__":{"length":1000000000,"polluted":"length"}}',
  '{"_placeholder":true,"num":0}',
  '{"ok":true,"data":{"producerId":"x"}}',
];
export const POLLUTION_MARKERS = ['polluted', 'isAdmin', 'role'] as const;

export function pollutingObject(rng: Rng): Record<string, unknown> {
  return JSON.parse(rng.pick(POLLUTING_JSON)) as Record<string, unknown>;
}

function wideValue(rng: Rng): unknown {
  if (rng.chance(0.5)) return Array.from({ length: rng.int(100, 5_000) }, () => rng.int(-5, 300));
  const wide: Record<string, unknown> = {};
  const keys = rng.int(100, 2_000);
  for (let i = 0; i < keys; i++) setOwn(wide, rng.chance(0.9) ? `k${i}` : hostileString(rng, 12), rng.int(0, 9));
  return wide;
}

/** Anything a hostile client could send, up to three levels of structure, plus rarer extremes. */
export function hostileValue(rng: Rng, depth = 0): unknown {
  const leaf = depth >= 3;
  return rng.weighted<() => unknown>([
    [10, () => hostilePrimitive(rng)],
    [4, () => hostileString(rng, 300)],
    [2, () => randomId(rng)],
    [leaf ? 0 : 3, () => Array.from({ length: rng.int(0, 5) }, () => hostileValue(rng, depth + 1))],
    [leaf ? 0 : 3, () => hostileObject(rng, depth + 1)],
    [1, () => (rng.chance(0.5) ? {} : [])],
    [0.6, () => deepNest(rng)],
    [1, () => pollutingObject(rng)],
    [0.3, () => wideValue(rng)],
    [0.25, () => longString(rng)],
  ])();
}

function hostileObject(rng: Rng, depth: number): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const keys = rng.int(0, 5);
  for (let i = 0; i < keys; i++) setOwn(result, rng.chance(0.7) ? rng.pick(EXTRA_KEYS) : hostileString(rng, 20), hostileValue(rng, depth));
  return result;
}

const EXTRA_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'then',
  'toJSON',
  'hasOwnProperty',
  'length',
  '0',
  'roomId',
  'displayName',
  'rtpCapabilities',
  'token',
  'transportId',
  'producerId',
  'consumerId',
  'peerId',
  'resumeToken',
  'kind',
  'source',
  'paused',
  'rtpParameters',
  'dtlsParameters',
  'role',
  'appData',
  'ok',
  'data',
  'error',
  'code',
  '_placeholder',
  'num',
];

/** Binary values: the server receives each as a Buffer. */
export function binaryValue(rng: Rng): ArrayBufferView | ArrayBuffer {
  const bytes = Buffer.from(Array.from({ length: rng.int(0, 1_024) }, () => rng.int(0, 255)));
  return rng.weighted<() => ArrayBufferView | ArrayBuffer>([
    [2, () => bytes],
    [1, () => new Uint8Array(bytes)],
    [1, () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)],
    [1, () => new Float64Array([NaN, Infinity, -0, 1e308])],
  ])();
}

// ---- What the server receives ----

const OMIT = Symbol('omit');

/** One value as it arrives: JSON semantics (socket.io-parser), except binary values arrive as Buffers. */
function wire(value: unknown): unknown {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return OMIT;
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
  if (typeof value === 'bigint') throw new Error('a bigint cannot be sent');
  if (value instanceof ArrayBuffer) return Buffer.from(value.slice(0));
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  if (Array.isArray(value)) {
    return value.map((item: unknown) => {
      const sent = wire(item);
      return sent === OMIT ? null : sent;
    });
  }
  const result = {};
  for (const key of Object.keys(value)) {
    const sent = wire((value as Record<string, unknown>)[key]);
    if (sent !== OMIT) setOwn(result, key, sent);
  }
  return result;
}

/** The arguments the server's handler gets for `emit(event, ...args)` (before the ack). */
export function serverView(args: readonly unknown[]): unknown[] {
  return args.map((arg) => {
    const sent = wire(arg);
    return sent === OMIT ? null : sent;
  });
}

export function containsBinary(value: unknown): boolean {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) return value.some(containsBinary);
  if (typeof value === 'object' && value !== null) return Object.keys(value).some((key) => containsBinary((value as Record<string, unknown>)[key]));
  return false;
}

function containsOwnProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsOwnProtoKey);
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
    return Object.keys(value).some((key) => key === '__proto__' || containsOwnProtoKey((value as Record<string, unknown>)[key]));
  }
  return false;
}

/** Bytes of the text part of the packet (binary attachments travel as their own frames). */
export function textBytes(event: string | number, view: readonly unknown[]): number {
  return Buffer.byteLength(JSON.stringify([event, ...view], (_key, value: unknown) => (Buffer.isBuffer(value) ? { _placeholder: true, num: 0 } : value)));
}

// ---- Mutations of valid requests ----

/** A deep copy that keeps own `__proto__` keys, functions and binary values. */
export function cloneOwn<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => cloneOwn(item)) as T;
  if (typeof value !== 'object' || value === null || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  const result = {};
  for (const key of Object.keys(value)) setOwn(result, key, cloneOwn((value as Record<string, unknown>)[key]));
  return result as T;
}

type Container = Record<string, unknown> | unknown[];
interface Place {
  parent: Container;
  key: string | number;
  path: string;
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer);
}

/** Every place in `holder` (breadth first, bounded), so a mutation can hit any field at any depth. */
function places(holder: unknown[]): Place[] {
  const found: Place[] = [{ parent: holder, key: 0, path: '$' }];
  for (let i = 0; i < found.length && found.length < 400; i++) {
    const place = found[i];
    if (!place) break;
    const value = get(place);
    if (!isContainer(value)) continue;
    const keys: (string | number)[] = Array.isArray(value) ? value.map((_, index) => index).slice(0, 20) : Object.keys(value);
    for (const key of keys) found.push({ parent: value, key, path: `${place.path}.${String(key)}` });
  }
  return found;
}

function get({ parent, key }: Place): unknown {
  return Array.isArray(parent) ? parent[Number(key)] : parent[String(key)];
}

function put({ parent, key }: Place, value: unknown): void {
  if (Array.isArray(parent)) parent[Number(key)] = value;
  else setOwn(parent, String(key), value);
}

function remove({ parent, key }: Place): void {
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[String(key)];
}

function retype(rng: Rng, value: unknown): unknown {
  if (typeof value === 'string') return rng.pick<unknown>([Number(value), value.length, [value], { value }, value === '' ? 0 : true, null]);
  if (typeof value === 'number') return rng.pick<unknown>([String(value), [value], value !== 0, null, { value }]);
  if (typeof value === 'boolean') return rng.pick<unknown>([String(value), value ? 1 : 0, [value], null]);
  if (Array.isArray(value)) return rng.pick<unknown>([Object.assign({}, value), value[0], value.length, JSON.stringify(value), null]);
  if (isContainer(value)) return rng.pick<unknown>([Object.values(value), Object.keys(value), JSON.stringify(value), 1, null]);
  return rng.pick<unknown>([{}, [], 0, '']);
}

function oversize(rng: Rng, value: unknown): unknown {
  if (typeof value === 'string') return rng.chance(0.5) ? value + 'x'.repeat(rng.pick([64, 128, 256, 4096])) : longString(rng);
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    const count = rng.pick([2, 9, 17, 33, 65, 129, 1_000]);
    return Array.from({ length: count }, (_, i) => cloneOwn(items[i % Math.max(1, items.length)] ?? i));
  }
  if (isContainer(value)) {
    const copy = cloneOwn(value) as Record<string, unknown>;
    for (let i = 0; i < rng.pick([10, 100, 1_000]); i++) setOwn(copy, `extra${i}`, i);
    return copy;
  }
  return rng.pick<unknown>([1e308, 2 ** 53 + 2, -1e308, 4096]);
}

export interface Mutation {
  value: unknown;
  notes: string[];
}

/**
 * Corrupts a copy of `valid` one to three times: a wrong type, an out-of-range number, a deleted or
 * extra key (prototype-polluting ones included), an id swapped for another (`swapId`), an oversized
 * field, a wrapped value, a deep nest or a hostile value.
 */
export function mutate(rng: Rng, valid: unknown, swapId: () => unknown): Mutation {
  const holder: unknown[] = [cloneOwn(valid)];
  const notes: string[] = [];
  const rounds = rng.weighted<number>([
    [6, 1],
    [2, 2],
    [1, 3],
  ]);
  for (let round = 0; round < rounds; round++) {
    const all = places(holder);
    // Prefer leaves and fields over the root: that is where a nearly valid request is most telling.
    const place = all.length > 1 && rng.chance(0.9) ? rng.pick(all.slice(1)) : rng.pick(all);
    const value = get(place);
    const operation = rng.weighted<string>([
      [4, 'hostile'],
      [3, 'retype'],
      [2, 'number'],
      [2, 'delete'],
      [3, 'extra'],
      [3, 'id'],
      [1, 'oversize'],
      [1, 'wrap'],
      [1.5, 'pollute'],
      [0.5, 'deep'],
    ]);
    notes.push(`${operation} ${place.path}`);
    switch (operation) {
      case 'hostile':
        put(place, hostileValue(rng));
        break;
      case 'retype':
        put(place, retype(rng, value));
        break;
      case 'number':
        put(place, rng.pick(EDGE_NUMBERS));
        break;
      case 'delete':
        if (place.parent === holder) put(place, undefined);
        else remove(place);
        break;
      case 'extra':
        if (Array.isArray(value)) value.push(hostileValue(rng));
        else if (isContainer(value)) setOwn(value, rng.chance(0.6) ? rng.pick(EXTRA_KEYS) : hostileString(rng, 24), hostileValue(rng));
        else put(place, hostileValue(rng));
        break;
      case 'id':
        put(place, swapId());
        break;
      case 'oversize':
        put(place, oversize(rng, value));
        break;
      case 'wrap':
        put(place, rng.chance(0.5) ? [value] : { value });
        break;
      case 'pollute': {
        const target = isContainer(value) && !Array.isArray(value) ? value : place.parent;
        if (Array.isArray(target)) target.push(pollutingObject(rng));
        else setOwn(target, rng.pick(['__proto__', 'constructor', 'prototype']), pollutingObject(rng));
        break;
      }
      case 'deep':
        put(place, deepNest(rng));
        break;
    }
  }
  return { value: holder[0], notes };
}

// ---- Valid requests to start from ----

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

// ---- Expected answers ----

/** What the server may answer to one request, decided before it is sent. */
export type Expectation =
  | { outcome: 'ok'; why: string }
  | { outcome: 'error'; codes: readonly ErrorCode[]; why: string }
  | { outcome: 'either'; codes: readonly ErrorCode[]; why: string };

const ERROR_CODES: readonly string[] = Object.values(ErrorCode);

/** Problems with one acknowledgement against its expectation; empty when it is acceptable. */
export function judge(event: string | number, expected: Expectation, answers: readonly unknown[] | undefined): string[] {
  if (answers === undefined) return ['no acknowledgement within the timeout'];
  if (answers.length !== 1) return [`acknowledged with ${answers.length} arguments`];
  const answer = answers[0];
  const shown = (): string => JSON.stringify(answer)?.slice(0, 300) ?? String(answer);
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return [`malformed acknowledgement ${shown()}`];
  const keys = Object.keys(answer).sort().join(',');
  if (!('ok' in answer) || (answer.ok !== true && answer.ok !== false)) return [`malformed acknowledgement ${shown()}`];
  if (answer.ok === true) {
    if (keys !== 'data,ok') return [`malformed success ${shown()}`];
    if (expected.outcome === 'error') return [`ok:true, but expected ${expected.codes.join('|')} (${expected.why})`];
    const shapeProblem = successShapeProblem(String(event), 'data' in answer ? answer.data : undefined);
    return shapeProblem ? [`${shapeProblem}: ${shown()}`] : [];
  }
  if (keys !== 'error,ok' || !('error' in answer)) return [`malformed failure ${shown()}`];
  const error = answer.error;
  if (typeof error !== 'object' || error === null || Object.keys(error).sort().join(',') !== 'code,message' || !('code' in error) || !('message' in error)) {
    return [`malformed error ${shown()}`];
  }
  const problems: string[] = [];
  if (typeof error.code !== 'string' || !ERROR_CODES.includes(error.code)) problems.push(`untyped error code ${shown()}`);
  if (typeof error.message !== 'string' || error.message.trim() === '') problems.push(`empty error message ${shown()}`);
  else if (error.message.length > 1_000) problems.push(`error message of ${error.message.length} characters (echoes the request?)`);
  if (expected.outcome === 'ok') problems.push(`expected ok:true (${expected.why}), got ${shown()}`);
  else if (typeof error.code === 'string' && !(expected.codes as readonly string[]).includes(error.code)) {
    problems.push(`expected ${expected.outcome === 'either' ? 'ok or ' : ''}${expected.codes.join('|')} (${expected.why}), got ${shown()}`);
  }
  return problems;
}

function successShapeProblem(event: string, data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return 'success without a data object';
  const keys = Object.keys(data).sort().join(',');
  switch (event) {
    case 'join':
      return 'sendTransport' in data && 'recvTransport' in data && 'self' in data && 'resumeToken' in data ? undefined : 'join answer without transports';
    case 'produce':
      return 'producerId' in data && typeof data.producerId === 'string' && keys === 'producerId' ? undefined : 'produce answer without a producerId';
    case 'restartIce':
      return keys === 'iceParameters' ? undefined : 'restartIce answer without iceParameters';
    case 'produceData':
      return keys === 'dataProducerId' ? undefined : 'produceData answer without a dataProducerId';
    case 'dataSync':
      return keys === 'board,chat,maxFileBytes,seq' ? undefined : 'dataSync answer without the history';
    case 'offerFile':
      return keys === 'chunkBytes,fileId,windowBytes' ? undefined : 'offerFile answer without a fileId';
    default:
      return keys === '' ? undefined : `unexpected data for ${event}`;
  }
}

// ---- A fuzzing client ----

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
   * Also send what triggers the server bugs this suite found (see the workarounds marked
   * "Known bug"): to check a fix, run with FUZZ_KNOWN_BUGS=1.
   */
  knownBugs: boolean;
}

interface Message {
  event: string | number;
  args: unknown[];
  ack: boolean;
  note: string;
}

type Parsed = { status: 'unknown' } | { status: 'invalid' } | { status: 'throws' } | { status: 'valid'; event: RequestName; data: Record<string, unknown> };

/** The request as the server's dispatcher parses it (`Requests[event].safeParse(payload ?? {})`). */
function parse(message: Message): Parsed {
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

interface Prepared {
  message: Message;
  changesPlace: boolean;
  expected: Expectation;
}

interface LooseEmitter {
  emit(event: string | number, ...args: unknown[]): unknown;
  timeout(ms: number): { emit(event: string | number, ...args: unknown[]): unknown };
}

const REQUEST_NAMES = Object.keys(Requests) as RequestName[];
/** Names socket.io-client refuses to emit (they are covered by raw packets instead). */
const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
const UNKNOWN_EVENTS: readonly (string | number)[] = [
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
const ID_EVENTS = new Set<RequestName>([
  'connectTransport',
  'produce',
  'produceData',
  'closeProducer',
  'setProducerPaused',
  'resumeConsumer',
  'setConsumerPreferences',
  'restartIce',
]);

/**
 * Sends a stream of hostile requests on one socket and records every acknowledgement with what was
 * acceptable for it. Valid join, leave and resume requests change where the connection is, so they
 * are sent with an acknowledgement and alone (nothing else in flight); everything else is pipelined.
 */
export class Fuzzer {
  readonly exchanges: Exchange[] = [];
  sent = 0;
  withoutAck = 0;
  /** Generated messages that trigger a known server bug: withheld unless `knownBugs`. */
  knownBugTriggers = 0;
  /** Functions placed before the last argument: they are not acknowledgements, so never called. */
  strayCallbacksCalled = 0;

  private state: 'lobby' | 'joined' = 'lobby';
  private readonly current = { peerId: '', resumeToken: '', transports: [] as string[], producers: [] as string[], consumers: [] as string[] };
  private readonly stale = { peers: [] as string[], tokens: [] as string[], transports: [] as string[], producers: [] as string[], consumers: [] as string[] };
  private readonly used = { ssrcs: new Set<number>(), mids: new Set<string>(), rids: new Set<string>(), streams: new Set<number>() };
  /** Files this fuzzer offered (ids are small room-wide counters, so others' are guessable too). */
  private readonly files: number[] = [];
  /** SCTP stream ids for produceData templates. */
  private nextStreamId = 0;
  private readonly rng: Rng;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly options: FuzzerOptions) {
    this.rng = options.rng;
    // Known-bug workaround (reported, not fixed here): resumeConsumer answers INTERNAL when the
    // consumer's producer closes at that moment (the worker has closed the consumer, the server has
    // not heard yet). Other fuzzers' producers come and go, so only consumers of the real call's
    // producers, which stay, are this fuzzer's to resume.
    options.participant.socket.on('newConsumer', (consumer) => {
      if (options.knownBugs || options.foreign.peers.includes(consumer.peerId)) this.current.consumers.push(consumer.id);
    });
  }

  get name(): string {
    return this.options.name;
  }

  get room(): string {
    return `fuzz-${this.options.index}`;
  }

  /** Joins `home` if this fuzzer has one (a valid join: it must succeed). */
  async settle(): Promise<void> {
    if (this.options.home === undefined || this.state === 'joined') return;
    const payload = {
      roomId: this.options.home,
      displayName: `${this.name} ${this.rng.int(0, 999)}`,
      rtpCapabilities: this.options.participant.joinCapabilities(),
      dataChannels: true,
    };
    await this.drain();
    await this.send(this.prepare({ event: 'join', args: [payload], ack: true, note: `join home ${this.options.home}` }));
  }

  /**
   * Sends `count` fuzzed messages, or more if they are done before `until`, or fewer if `deadline`
   * (epoch ms) comes first.
   */
  async run(count: number, { until = 0, deadline = Infinity }: { until?: number; deadline?: number } = {}): Promise<void> {
    await this.settle();
    await this.warmUp();
    if (this.options.knownBugs) await this.reproduceKnownBugs();
    for (let i = 0; (i < count || Date.now() < until) && Date.now() < deadline; i++) {
      if (this.state === 'lobby' && this.options.home !== undefined) await this.settle();
      const prepared = this.generate();
      if (prepared.changesPlace) {
        await this.drain();
        await this.send(prepared);
        continue;
      }
      const sending = this.send(prepared);
      this.inflight.add(sending);
      void sending.finally(() => this.inflight.delete(sending));
      if (this.inflight.size >= this.options.window) await Promise.race(this.inflight);
      // Let the socket flush now and then, so ack-less bursts interleave with answers.
      if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.drain();
  }

  /**
   * A joined fuzzer first uses its own objects the valid way (connect, publish, pause and resume,
   * ICE restart, resume a consumer, unpublish): the server carries these out amid the fuzzing, and
   * the fuzzer then has objects of its own for mutated requests to name.
   */
  private async warmUp(): Promise<void> {
    const [sendTransport, recvTransport] = this.current.transports;
    if (this.state !== 'joined' || sendTransport === undefined || recvTransport === undefined) return;
    const rng = this.rng;
    const capabilities = this.options.participant.routerRtpCapabilities;
    const valid = (event: RequestName, payload: Record<string, unknown>): Promise<void> =>
      this.send(this.prepare({ event, args: [payload], ack: true, note: `warm-up ${event}` }));
    await valid('connectTransport', { transportId: sendTransport, dtlsParameters: dtlsParameters(rng) });
    for (const source of ['screen', 'mic'] as const) {
      await valid('produce', {
        transportId: sendTransport,
        kind: source === 'mic' ? 'audio' : 'video',
        rtpParameters: rtpParameters(rng, capabilities, source),
        source,
      });
    }
    const [screen, mic] = this.current.producers;
    if (screen !== undefined) {
      await valid('setProducerPaused', { producerId: screen, paused: true });
      await valid('setProducerPaused', { producerId: screen, paused: false });
    }
    if (mic !== undefined) await valid('closeProducer', { producerId: mic });
    await valid('restartIce', { transportId: recvTransport });
    // In a room with others, their tracks arrive as newConsumer notifications just after the join.
    for (let waited = 0; this.current.consumers.length === 0 && this.options.home === this.options.foreign.room && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const consumer = this.current.consumers[0];
    if (consumer !== undefined) {
      await valid('resumeConsumer', { consumerId: consumer });
      await valid('setConsumerPreferences', { consumerId: consumer, paused: false, spatialLayer: 0, temporalLayer: 0 });
    }
    // Data channels: one of its own, then the room's history, then a file offered and cancelled.
    await valid('produceData', { transportId: sendTransport, label: 'chat', sctpStreamParameters: { streamId: this.nextStreamId++, ordered: true } });
    for (let attempt = 0; attempt < 20; attempt++) {
      await valid('dataSync', {});
      const answer = this.exchanges[this.exchanges.length - 1]?.answers?.[0];
      if (typeof answer === 'object' && answer !== null && 'ok' in answer && answer.ok === true) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await valid('offerFile', { name: 'warm-up.txt', type: 'text/plain', size: 1_000 });
    const file = this.files[this.files.length - 1];
    if (file !== undefined) await valid('cancelFile', { fileId: file });
  }

  /**
   * With `knownBugs`, each known bug is also triggered on purpose, so a fix can be checked:
   * validation that throws, a produce reusing an ssrc, a data channel reusing an SCTP stream id,
   * a join racing a leave, and a leave while consumers are being created.
   */
  private async reproduceKnownBugs(): Promise<void> {
    const rng = this.rng;
    const trap = JSON.parse('{"roomId":{"length":{"toString":1,"valueOf":1}},"displayName":"trap"}') as unknown;
    await this.send(this.prepare({ event: 'join', args: [trap], ack: true, note: 'known bug: validation throws' }));
    const sendTransport = this.current.transports[0];
    if (this.state === 'joined' && sendTransport !== undefined) {
      const ssrc = rng.int(1_000, 2 ** 31);
      for (const source of ['mic', 'camera'] as const) {
        const rtp = rtpParameters(rng, this.options.participant.routerRtpCapabilities, source);
        rtp.encodings = [{ ssrc }];
        const payload = { transportId: sendTransport, kind: source === 'mic' ? 'audio' : 'video', rtpParameters: rtp, source };
        await this.send(this.prepare({ event: 'produce', args: [payload], ack: true, note: `known bug: ${source} reusing ssrc ${ssrc}` }));
      }
      const streamId = rng.int(100, 999);
      for (const [label, reliability] of [
        ['board', { ordered: true }],
        ['fast', { ordered: false, maxRetransmits: 0 }],
      ] as const) {
        const payload = { transportId: sendTransport, label, sctpStreamParameters: { streamId, ...reliability } };
        await this.send(
          this.prepare({ event: 'produceData', args: [payload], ack: true, note: `known bug: ${label} channel reusing SCTP stream ${streamId}` }),
        );
      }
    }
    if (this.state === 'lobby') {
      // join, leave, join without waiting: whatever the answers, only one place may remain, and it goes with the final leave.
      const join = (): Message => ({
        event: 'join',
        args: [{ roomId: this.room, displayName: this.name, rtpCapabilities: this.options.participant.joinCapabilities() }],
        ack: true,
        note: 'known bug: join racing a leave',
      });
      const racing: Expectation = { outcome: 'either', codes: ['ALREADY_JOINED', 'NOT_JOINED'], why: 'join racing a leave' };
      const raced = [join(), { event: 'leave', args: [{}], ack: true, note: 'known bug: leave racing joins' }, join()].map((message) => ({
        message,
        changesPlace: true,
        expected: message.event === 'leave' ? ({ outcome: 'ok', why: 'leave always succeeds' } as const) : racing,
      }));
      await Promise.all(raced.map((prepared) => this.send(prepared)));
      await this.send(this.prepare({ event: 'leave', args: [{}], ack: true, note: 'leave after the race' }));
      // Leaving the call's room right after joining it, while the server creates this fuzzer's consumers.
      for (let round = 0; round < 3; round++) {
        const payload = { roomId: this.options.foreign.room, displayName: this.name, rtpCapabilities: this.options.participant.joinCapabilities() };
        await this.send(this.prepare({ event: 'join', args: [payload], ack: true, note: 'known bug: join, then leave at once' }));
        await this.send(this.prepare({ event: 'leave', args: [{}], ack: true, note: 'known bug: leave while consumers are being created' }));
      }
    }
  }

  private async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  // ---- generating ----

  private generate(): Prepared {
    for (;;) {
      const message = this.candidate();
      const view = serverView(message.args);
      if (containsBinary(message.args) && containsOwnProtoKey(message.args)) continue; // the client's binary encoder cannot keep own __proto__ keys
      if (textBytes(message.event, view) > this.options.maxBytes) continue;
      const parsed = parse(message);
      if (parsed.status === 'throws') {
        // Known bug (reported): the server's schema validation throws on this payload, outside any
        // try, so the request is never answered and the rejection is unhandled (it ends a production
        // server process). Withheld unless FUZZ_KNOWN_BUGS=1.
        this.knownBugTriggers++;
        if (!this.options.knownBugs) continue;
      }
      return this.prepare(message, parsed);
    }
  }

  private candidate(): Message {
    const rng = this.rng;
    const kind = rng.weighted<string>([
      [42, 'mutated'],
      [14, 'valid'],
      [16, 'hostile'],
      [7, 'crossed'],
      [9, 'unknown'],
      [5, 'deep'],
      [5, 'polluting'],
      [3, 'binary'],
      [3, 'big'],
    ]);
    // `leave` is rare so the fuzzers spend most of their time joined, where most handlers are.
    const event: RequestName = rng.weighted<RequestName>(REQUEST_NAMES.map((name) => [name === 'leave' ? 1 : name === 'join' ? 5 : 12, name] as const));
    let payload: unknown;
    let note: string;
    let name: string | number = event;
    switch (kind) {
      case 'mutated': {
        const mutation = mutate(rng, this.template(event), () => this.anyId());
        payload = mutation.value;
        note = `mutated ${event}: ${mutation.notes.join(', ')}`;
        break;
      }
      case 'valid':
        payload = this.template(event);
        note = `template ${event}`;
        break;
      case 'hostile':
        payload = hostileValue(rng);
        note = `hostile ${event}`;
        break;
      case 'crossed': {
        const other = rng.pick(REQUEST_NAMES);
        payload = this.template(other);
        note = `${other} payload sent as ${event}`;
        break;
      }
      case 'unknown':
        name = rng.chance(0.7) ? rng.pick(UNKNOWN_EVENTS) : hostileString(rng, 40);
        if (typeof name === 'string' && CLIENT_RESERVED.has(name)) name = `x${name}`;
        payload = rng.chance(0.5) ? this.template(rng.pick(REQUEST_NAMES)) : hostileValue(rng);
        note = `unknown event ${JSON.stringify(name).slice(0, 40)}`;
        break;
      case 'deep': {
        const template = this.template(event);
        const keys = Object.keys(template);
        if (keys.length > 0 && rng.chance(0.6)) {
          setOwn(template, rng.pick(keys), deepNest(rng));
          payload = template;
        } else {
          payload = deepNest(rng);
        }
        note = `deep ${event}`;
        break;
      }
      case 'polluting': {
        const template = rng.chance(0.5) ? this.template(event) : pollutingObject(rng);
        const polluted = JSON.parse(rng.pick(POLLUTING_JSON)) as Record<string, unknown>;
        for (const key of Object.keys(template)) if (!Object.hasOwn(polluted, key)) setOwn(polluted, key, template[key]);
        payload = rng.chance(0.3) ? JSON.parse(`{"__proto__":${JSON.stringify(template)}}`) : polluted;
        note = `polluting ${event}`;
        break;
      }
      case 'binary': {
        const template = this.template(event);
        const keys = Object.keys(template);
        if (keys.length > 0 && rng.chance(0.7)) setOwn(template, rng.pick(keys), binaryValue(rng));
        payload = rng.chance(0.8) ? template : binaryValue(rng);
        note = `binary ${event}`;
        break;
      }
      default: {
        const template = this.template(event);
        const keys = Object.keys(template);
        if (keys.length > 0) setOwn(template, rng.pick(keys), rng.chance(0.7) ? longString(rng) : oversize(rng, template[rng.pick(keys)]));
        else setOwn(template, 'padding', longString(rng));
        payload = template;
        note = `big ${event}`;
        break;
      }
    }
    return this.arrange(name, payload, note);
  }

  /** Puts the payload among the arguments: alone, with extras, missing, or behind stray callbacks. */
  private arrange(event: string | number, payload: unknown, note: string): Message {
    const rng = this.rng;
    const stray = (): void => {
      this.strayCallbacksCalled++;
    };
    const shape = rng.weighted<string>([
      [70, 'payload'],
      [10, 'extras'],
      [5, 'none'],
      [5, 'callback first'],
      [5, 'callback between'],
      [5, 'undefined first'],
    ]);
    let args: unknown[];
    switch (shape) {
      case 'payload':
        args = [payload];
        break;
      case 'extras':
        args = [payload, ...Array.from({ length: rng.int(1, 5) }, () => hostileValue(rng, 2))];
        break;
      case 'none':
        args = [];
        break;
      case 'callback first':
        args = [stray, payload];
        break;
      case 'callback between':
        args = [payload, stray, hostileValue(rng, 2)];
        break;
      default:
        args = [rng.chance(0.5) ? undefined : null, payload];
        break;
    }
    const ack = rng.chance(0.8);
    return { event, args, ack, note: `${note} [${shape}${ack ? '' : ', no ack'}]` };
  }

  private template(event: RequestName): Record<string, unknown> {
    const rng = this.rng;
    const participant = this.options.participant;
    switch (event) {
      case 'join':
        return {
          roomId: rng.weighted<() => string>([
            [3, () => this.options.foreign.room],
            [3, () => this.room],
            [2, () => `${this.room}-${rng.int(0, 3)}`],
            [2, () => hostileString(rng, 70)],
          ])(),
          displayName: rng.chance(0.7) ? `${this.name}-${rng.int(0, 99)}` : hostileString(rng, 45),
          rtpCapabilities: participant.joinCapabilities(),
          ...(rng.chance(0.5) ? { dataChannels: true } : {}),
          ...(rng.chance(0.2) ? { token: rng.chance(0.5) ? 'eyJhbGciOiJub25lIn0.eyJyb29tIjoiKiJ9.' : hostileString(rng, 100) } : {}),
        };
      case 'leave':
        return {};
      case 'connectTransport':
        return { transportId: this.transportId(), dtlsParameters: dtlsParameters(rng) };
      case 'produce': {
        const source = rng.pick<MediaSource>(['mic', 'camera', 'screen']);
        return {
          transportId: this.transportId(),
          kind: source === 'mic' ? 'audio' : 'video',
          rtpParameters: rtpParameters(rng, participant.routerRtpCapabilities, source),
          source,
          ...(rng.chance(0.3) ? { paused: rng.chance(0.5) } : {}),
        };
      }
      case 'closeProducer':
        return { producerId: this.producerId() };
      case 'setProducerPaused':
        return { producerId: this.producerId(), paused: rng.chance(0.5) };
      case 'resumeConsumer':
        return { consumerId: this.consumerId() };
      case 'restartIce':
        return { transportId: this.transportId() };
      case 'setConsumerPreferences':
        return {
          consumerId: this.consumerId(),
          ...(rng.chance(0.6) ? { paused: rng.chance(0.5) } : {}),
          ...(rng.chance(0.5) ? { spatialLayer: rng.int(0, 2) } : {}),
          ...(rng.chance(0.5) ? { temporalLayer: rng.int(0, 2) } : {}),
        };
      case 'produceData': {
        const label = rng.pick(DATA_LABELS);
        return {
          transportId: this.transportId(),
          label,
          sctpStreamParameters: { streamId: this.nextStreamId++, ...(label === 'fast' ? { ordered: false, maxRetransmits: 0 } : { ordered: true }) },
          ...(rng.chance(0.3) ? { protocol: rng.pick(['', 'json', 'conclave']) } : {}),
        };
      }
      case 'dataSync':
        return {};
      case 'offerFile':
        return {
          name: rng.chance(0.7) ? `${rng.pick(['notes', 'photo', 'slides'])}.${rng.pick(['txt', 'png', 'pdf'])}` : hostileString(rng, 40),
          type: rng.pick(['', 'text/plain', 'image/png', 'application/pdf; charset=binary']),
          size: rng.pick([0, 1, 1_000, 65_536, 10_000_000, 2 ** 40]),
        };
      case 'cancelFile':
        return { fileId: rng.chance(0.6) ? this.pickFile() : rng.int(1, 50) };
      case 'resume':
        return {
          peerId: rng.weighted<() => string>([
            [3, () => rng.pick(this.options.foreign.peers)],
            [2, () => this.current.peerId || randomId(rng)],
            [2, () => this.pickOr(this.stale.peers)],
            [1, () => randomId(rng)],
          ])(),
          resumeToken: rng.weighted<() => string>([
            [2, () => this.current.resumeToken || randomId(rng)],
            [2, () => this.pickOr(this.stale.tokens)],
            [3, () => Buffer.from(Array.from({ length: 24 }, () => rng.int(0, 255))).toString('base64url')],
            [1, () => hostileString(rng, 40) || 'x'],
          ])(),
        };
    }
  }

  private pickFile(): number {
    return this.files.length > 0 ? this.rng.pick(this.files) : this.rng.int(1, 50);
  }

  private pickOr(pool: readonly string[]): string {
    return pool.length > 0 ? this.rng.pick(pool) : randomId(this.rng);
  }

  private transportId(): string {
    return this.rng.weighted<() => string>([
      [8, () => this.pickOr(this.current.transports)],
      [4, () => this.rng.pick(this.options.foreign.transports)],
      [1, () => this.pickOr(this.stale.transports)],
      [1, () => randomId(this.rng)],
    ])();
  }

  private producerId(): string {
    return this.rng.weighted<() => string>([
      [8, () => this.pickOr(this.current.producers)],
      [4, () => this.rng.pick(this.options.foreign.producers)],
      [1, () => this.pickOr(this.stale.producers)],
      [1, () => randomId(this.rng)],
    ])();
  }

  private consumerId(): string {
    return this.rng.weighted<() => string>([
      [8, () => this.pickOr(this.current.consumers)],
      [4, () => this.rng.pick(this.options.foreign.consumers)],
      [1, () => this.pickOr(this.stale.consumers)],
      [1, () => randomId(this.rng)],
    ])();
  }

  /** Any id this fuzzer knows of, the real call's first. */
  private anyId(): unknown {
    const { foreign } = this.options;
    return this.rng.weighted<() => unknown>([
      [6, () => this.rng.pick([...foreign.transports, ...foreign.producers, ...foreign.consumers, ...foreign.peers])],
      [3, () => this.pickOr([...this.current.transports, ...this.current.producers, ...this.current.consumers])],
      [1, () => this.pickOr([...this.stale.transports, ...this.stale.producers, ...this.stale.consumers])],
      [1, () => randomId(this.rng)],
    ])();
  }

  // ---- what the server must answer ----

  /**
   * Decides, before sending, what the server may answer. Valid join, leave and resume requests
   * change where the connection is: they are sent with an acknowledgement and alone (nothing in flight).
   */
  private prepare(message: Message, parsed: Parsed = parse(message)): Prepared {
    if (parsed.status === 'valid' && parsed.event === 'join') this.ownRoom(message);
    if (parsed.status === 'valid' && parsed.event === 'produce' && !this.options.knownBugs) this.freshRtpIdentifiers(message);
    if (parsed.status === 'valid' && parsed.event === 'produceData' && !this.options.knownBugs) this.freshStreamId(message);
    const changesPlace = parsed.status === 'valid' && (parsed.event === 'join' || parsed.event === 'leave' || parsed.event === 'resume');
    if (changesPlace) message.ack = true;
    return { message, changesPlace, expected: this.expectation(parsed) };
  }

  /**
   * Known-bug workaround (reported, not fixed here): the server answers INTERNAL when a peer's
   * produce reuses an ssrc, MID or RID of its own earlier producers, or an RTX ssrc equals a media
   * ssrc, because mediasoup's worker reports those as plain Errors. Valid produce requests therefore
   * get fresh values where they would repeat one.
   */
  private freshRtpIdentifiers(message: Message): void {
    const payload = message.args[0];
    if (!isContainer(payload) || Array.isArray(payload)) return;
    const parameters = payload.rtpParameters;
    if (!isContainer(parameters) || Array.isArray(parameters)) return;
    const base = 100_000_000 * (this.options.index + 1);
    const freshSsrc = (): number => {
      let ssrc = base + this.used.ssrcs.size;
      while (this.used.ssrcs.has(ssrc)) ssrc++;
      return ssrc;
    };
    const unique = <T>(used: Set<T>, value: T, fresh: () => T): T => {
      const chosen = used.has(value) ? fresh() : value;
      used.add(chosen);
      return chosen;
    };
    const { mids, rids, ssrcs } = this.used;
    const index = this.options.index;
    if (typeof parameters.mid === 'string') parameters.mid = unique(mids, parameters.mid, () => `m${index}-${mids.size}`);
    const encodings: unknown[] = Array.isArray(parameters.encodings) ? parameters.encodings : [];
    for (const encoding of encodings) {
      if (!isContainer(encoding) || Array.isArray(encoding)) continue;
      const { ssrc, rtx, rid } = encoding;
      if (typeof ssrc === 'number') encoding.ssrc = unique(ssrcs, ssrc, freshSsrc);
      if (isContainer(rtx) && !Array.isArray(rtx) && typeof rtx.ssrc === 'number') rtx.ssrc = unique(ssrcs, rtx.ssrc, freshSsrc);
      if (typeof rid === 'string') encoding.rid = unique(rids, rid, () => `r${index}-${rids.size}`);
    }
  }

  /**
   * Known-bug workaround (reported, not fixed here): a produceData reusing the SCTP stream id of
   * one of the peer's data producers gets INTERNAL (mediasoup's worker reports it as a plain Error).
   * Valid produceData requests therefore get a fresh stream id where they would repeat one.
   */
  private freshStreamId(message: Message): void {
    const payload = message.args[0];
    if (!isContainer(payload) || Array.isArray(payload)) return;
    const parameters = payload.sctpStreamParameters;
    if (!isContainer(parameters) || Array.isArray(parameters)) return;
    const requested = parameters.streamId;
    if (typeof requested !== 'number') return;
    const streams = this.used.streams;
    let streamId = requested;
    if (streams.has(streamId)) {
      streamId = 30_000 + 1_000 * this.options.index;
      while (streams.has(streamId)) streamId++;
    }
    parameters.streamId = streamId;
    streams.add(streamId);
  }

  /** Keeps a valid join among this fuzzer's own rooms or the real call's, so fuzzers never race each other's rooms closing. */
  private ownRoom(message: Message): void {
    const payload = message.args[0];
    if (!isContainer(payload) || Array.isArray(payload)) return;
    const roomId = payload.roomId;
    if (roomId === this.options.foreign.room || roomId === this.room || (typeof roomId === 'string' && roomId.startsWith(`${this.room}-`))) return;
    payload.roomId = `${this.room}-${String(roomId)}`.slice(0, 64);
  }

  private expectation(parsed: Parsed): Expectation {
    if (parsed.status === 'unknown') return { outcome: 'error', codes: ['BAD_REQUEST'], why: 'unknown event' };
    if (parsed.status === 'invalid') return { outcome: 'error', codes: ['BAD_REQUEST'], why: 'invalid payload' };
    if (parsed.status === 'throws') return { outcome: 'error', codes: ['BAD_REQUEST'], why: 'a payload that makes validation throw' };
    const joined = this.state === 'joined';
    const data = parsed.data;
    switch (parsed.event) {
      case 'join':
        return joined ? { outcome: 'error', codes: ['ALREADY_JOINED'], why: 'join while joined' } : { outcome: 'ok', why: 'valid join from the lobby' };
      case 'leave':
        return { outcome: 'ok', why: 'leave always succeeds' };
      case 'resume':
        return joined
          ? { outcome: 'error', codes: ['ALREADY_JOINED'], why: 'resume while joined' }
          : {
              outcome: 'error',
              codes: ['RESUME_FAILED'],
              why: this.options.foreign.peers.includes(String(data.peerId))
                ? "resume of the real call's place with a wrong token"
                : 'resume of a place that is not in its grace period',
            };
      default:
        break;
    }
    if (!joined) return { outcome: 'error', codes: ['NOT_JOINED'], why: `${parsed.event} from the lobby` };
    switch (parsed.event) {
      case 'dataSync':
        return { outcome: 'either', codes: ['UNSUPPORTED', 'BAD_REQUEST'], why: 'dataSync' };
      case 'offerFile':
        return { outcome: 'either', codes: ['TOO_LARGE', 'BAD_REQUEST', 'RATE_LIMITED'], why: 'offerFile' };
      case 'cancelFile':
        // Transfers are numbered room-wide, so any id may be one this fuzzer is receiving (cancelling that is allowed).
        return { outcome: 'either', codes: ['NOT_FOUND'], why: 'cancelFile' };
      default:
        break;
    }
    if (!ID_EVENTS.has(parsed.event)) throw new Error(`no expectation for ${parsed.event}`);
    const id = data.transportId ?? data.producerId ?? data.consumerId;
    const own =
      parsed.event === 'resumeConsumer' || parsed.event === 'setConsumerPreferences'
        ? this.current.consumers
        : parsed.event === 'closeProducer' || parsed.event === 'setProducerPaused'
          ? this.current.producers
          : this.current.transports;
    if (typeof id !== 'string' || !own.includes(id)) {
      const whose = [...this.options.foreign.transports, ...this.options.foreign.producers, ...this.options.foreign.consumers].includes(String(id))
        ? "the real call's"
        : 'an unknown or stale';
      return { outcome: 'error', codes: ['NOT_FOUND'], why: `${parsed.event} on ${whose} id` };
    }
    const codes: Record<string, readonly ErrorCode[]> = {
      connectTransport: ['BAD_REQUEST'],
      restartIce: [],
      produce: ['BAD_REQUEST', 'FORBIDDEN', 'UNSUPPORTED'],
      produceData: ['BAD_REQUEST', 'FORBIDDEN', 'UNSUPPORTED'],
      setConsumerPreferences: ['NOT_FOUND'],
      closeProducer: ['NOT_FOUND'],
      setProducerPaused: ['NOT_FOUND'],
      resumeConsumer: ['NOT_FOUND'],
    };
    return { outcome: 'either', codes: codes[parsed.event] ?? [], why: `${parsed.event} on its own object` };
  }

  // ---- sending ----

  private async send({ message, expected }: Prepared): Promise<void> {
    const seq = this.sent++;
    const socket = this.options.participant.socket as unknown as LooseEmitter;
    if (!message.ack) {
      this.withoutAck++;
      if (typeof message.args[message.args.length - 1] === 'function') message.args.push(null);
      socket.emit(message.event, ...message.args);
      return;
    }
    const answers = await new Promise<unknown[] | undefined>((resolve) => {
      socket.timeout(this.options.ackTimeoutMs).emit(message.event, ...message.args, (error: unknown, ...answers: unknown[]) => {
        // Learnt right away: notifications that follow the answer may be dispatched before a continuation would run.
        if (!error) this.learn(message, answers[0]);
        resolve(error ? undefined : answers);
      });
    });
    this.exchanges.push({ fuzzer: this.name, seq, event: message.event, note: message.note, expected, answers });
  }

  /** Keeps track of where the connection is and which objects are its own, from the answers. */
  private learn(message: Message, answer: unknown): void {
    if (typeof answer !== 'object' || answer === null || !('ok' in answer) || answer.ok !== true || !('data' in answer)) return;
    const data = answer.data;
    if (typeof data !== 'object' || data === null) return;
    switch (message.event) {
      case 'join':
        if ('self' in data && 'sendTransport' in data && 'recvTransport' in data && 'resumeToken' in data) {
          const { self, sendTransport, recvTransport, resumeToken } = data as {
            self: { id: string };
            sendTransport: { id: string };
            recvTransport: { id: string };
            resumeToken: string;
          };
          this.state = 'joined';
          this.current.peerId = self.id;
          this.current.resumeToken = resumeToken;
          this.current.transports = [sendTransport.id, recvTransport.id];
          this.current.producers = [];
          this.current.consumers = [];
        }
        break;
      case 'leave':
        if (this.state === 'joined') {
          this.stale.peers.push(this.current.peerId);
          this.stale.tokens.push(this.current.resumeToken);
          this.stale.transports.push(...this.current.transports);
          this.stale.producers.push(...this.current.producers);
          this.stale.consumers.push(...this.current.consumers);
        }
        this.state = 'lobby';
        this.current.peerId = '';
        this.current.resumeToken = '';
        this.current.transports = [];
        this.current.producers = [];
        this.current.consumers = [];
        break;
      case 'produce':
        if ('producerId' in data && typeof data.producerId === 'string') this.current.producers.push(data.producerId);
        break;
      case 'offerFile':
        if ('fileId' in data && typeof data.fileId === 'number') this.files.push(data.fileId);
        break;
      default:
        break;
    }
  }
}

export interface RawPacket {
  /** A socket.io packet, as written after engine.io's message type. */
  packet: string;
  /** For a well-formed request, the acknowledgement id it asks for and what the answer must be. */
  answer?: { id: number; expected: Expectation };
}

const refused: Expectation = { outcome: 'error', codes: ['BAD_REQUEST'], why: 'invalid request in a raw packet' };

/**
 * Malformed and odd socket.io packets, each for a fresh connection in the lobby. Acknowledgement ids
 * start at 900 so that they cannot be confused with the client's own (which start at 0).
 */
export const RAW_PACKETS: readonly RawPacket[] = [
  { packet: '2["join"' },
  { packet: '2' },
  { packet: '2[]' },
  { packet: '2{}' },
  { packet: '2"join"' },
  { packet: '2[null,{}]' },
  { packet: '2[{"__proto__":{"polluted":"event name"}}]' },
  { packet: '2["disconnect","client namespace disconnect"]' },
  { packet: '2["disconnecting"]' },
  { packet: '2["connect"]' },
  { packet: '2["newListener","join"]' },
  { packet: '2["removeListener","join"]' },
  { packet: '2[1e400,{}]' },
  { packet: '2900["leave",{}]', answer: { id: 900, expected: { outcome: 'ok', why: 'leave from the lobby' } } },
  { packet: '2901["join",' + '['.repeat(5_000) + ']'.repeat(5_000) + ']', answer: { id: 901, expected: refused } },
  { packet: '2902["join",{"roomId":' + '{"a":'.repeat(2_000) + '1' + '}'.repeat(2_000) + '}]', answer: { id: 902, expected: refused } },
  { packet: '2903["' + 'j'.repeat(150_000) + '"]', answer: { id: 903, expected: { outcome: 'error', codes: ['BAD_REQUEST'], why: 'unknown event' } } },
  { packet: '2904["join",{"__proto__":{"roomId":"r","displayName":"n","rtpCapabilities":{}}}]', answer: { id: 904, expected: refused } },
  { packet: '2999999999999999999999999["leave",{}]' },
  { packet: '2-1["leave"]' },
  { packet: '50-["join",{"_placeholder":true,"num":0}]' },
  { packet: '51-["join",{"_placeholder":true,"num":7}]' },
  { packet: '51-905["join",{"_placeholder":"yes","num":"0"}]' },
  { packet: '5-["join"]' },
  { packet: '3["answer to nothing"]' },
  { packet: '3907[{"ok":true}]' },
  { packet: '0' },
  { packet: '0/admin,' },
  { packet: '0{"token":"x"}' },
  { packet: '1' },
  { packet: '4"connect error from a client"' },
  { packet: '6' },
  { packet: '9' },
  { packet: '' },
  { packet: '\u0000' },
  { packet: '2/,["join"]' },
  { packet: '2/../,["join"]' },
];
