import { Buffer } from 'node:buffer';
import type { Rng } from './random.js';

/** Hostile values: edge numbers and strings, deep nesting, prototype pollution, binary. */

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

export const EXTRA_KEYS = [
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
