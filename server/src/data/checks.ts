import type { z } from 'zod';
import { ChatNonce, DATA_CHANNELS, DATA_MESSAGE_MAX_BYTES, PPID_STRING, type DataLabel } from '../../../shared/data.js';
import { ConclaveError, type ErrorCode } from '../../../shared/errors.js';
import { firstIssue } from '../../../shared/identity.js';
import type { ProduceDataRequest } from '../../../shared/protocol.js';

/** The checks each data channel's messages and set-up pass before the hub acts on them. */

/** The nonce a chat post carries, if it is a valid one (the rest of the post may still be invalid). */
export function nonceOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('nonce' in value)) return undefined;
  const nonce = ChatNonce.safeParse(value.nonce);
  return nonce.success ? nonce.data : undefined;
}

export function parse<T>(label: DataLabel, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConclaveError('BAD_REQUEST', `${label}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** Chat, whiteboard and files need every message in order; 'fast' is the unordered, never-retransmitted one. */
export function checkReliability({ label, sctpStreamParameters: { ordered, maxRetransmits, maxPacketLifeTime } }: ProduceDataRequest): void {
  const wanted = DATA_CHANNELS[label];
  if (wanted.ordered) {
    if (ordered === false || maxRetransmits !== undefined || maxPacketLifeTime !== undefined) {
      throw new ConclaveError('BAD_REQUEST', `The ${label} channel must be ordered and reliable`);
    }
  } else if (ordered !== false || maxRetransmits !== wanted.maxRetransmits || maxPacketLifeTime !== undefined) {
    throw new ConclaveError('BAD_REQUEST', `The ${label} channel must be unordered with maxRetransmits ${wanted.maxRetransmits}`);
  }
}

/** The JSON a text channel's message carries, or why it is refused (not text, too large, not JSON). */
export function readJson(label: DataLabel, message: Buffer, ppid: number): { value: unknown } | { refused: { code: ErrorCode; message: string } } {
  if (ppid !== PPID_STRING) return { refused: { code: 'BAD_REQUEST', message: `The ${label} channel carries JSON text` } };
  if (message.length > DATA_MESSAGE_MAX_BYTES[label]) {
    return { refused: { code: 'TOO_LARGE', message: `A ${label} message is at most ${DATA_MESSAGE_MAX_BYTES[label]} bytes` } };
  }
  try {
    return { value: JSON.parse(message.toString('utf8')) as unknown };
  } catch {
    return { refused: { code: 'BAD_REQUEST', message: `${label}: not JSON` } };
  }
}
