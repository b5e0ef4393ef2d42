import { Buffer } from 'node:buffer';
import { setOwn } from './hostile.js';

/** What the server receives of what a client emits (socket.io's JSON and binary encoding). */

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

export function containsOwnProtoKey(value: unknown): boolean {
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
