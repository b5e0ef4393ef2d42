import type { types } from 'mediasoup';
import { CHAT_MAX_PENDING, DATA_RATE_LIMITS, type DataLabel } from '../../../shared/data.js';
import type { ErrorCode } from '../../../shared/errors.js';
import { RateLimiter } from '../signaling/RateLimiter.js';
import type { Outbox } from './Outbox.js';

/** One participant's part of the data plane. */
export interface Member {
  /** Its own channels (DataProducers on its send transport), by label. */
  producers: Map<DataLabel, types.DataProducer>;
  /** Labels with a produceData request under way, so two requests cannot both open one. */
  opening: Set<DataLabel>;
  /** How the server reads them: consumers on the room's DirectTransport. */
  taps: Map<DataLabel, types.DataConsumer>;
  /** The room's channels to it (DataConsumers on its receive transport), by label. */
  consumers: Map<DataLabel, types.DataConsumer>;
  /** Targeted messages (file chunks, acknowledgements) on its 'file' consumer. */
  outbox: Outbox | undefined;
  /** It has the room's history and its consumers are open, so it can take part in transfers. */
  synced: boolean;
  limiters: Record<DataLabel, RateLimiter>;
  /** When each label and code last told it about a refused message: a flood gets a few notices a second. */
  refusedAt: Map<string, number>;
  /** Nonces of its chat posts we refused, newest last: a resend of one stays refused, and costs nothing. */
  refusedNonces: Set<string>;
}

const REFUSAL_NOTICE_INTERVAL_MS = 250;

export function newMember(): Member {
  return {
    producers: new Map(),
    opening: new Set(),
    taps: new Map(),
    consumers: new Map(),
    outbox: undefined,
    synced: false,
    limiters: {
      chat: limiterFor('chat'),
      board: limiterFor('board'),
      file: limiterFor('file'),
      fast: limiterFor('fast'),
    },
    refusedAt: new Map(),
    refusedNonces: new Set(),
  };
}

/** Whether a refusal of this label and code may be told now: a flood gets a few notices a second. */
export function mayNotifyRefusal(member: Member, label: DataLabel, code: ErrorCode): boolean {
  const now = Date.now();
  const key = `${label}:${code}`;
  if (now - (member.refusedAt.get(key) ?? -Infinity) < REFUSAL_NOTICE_INTERVAL_MS) return false;
  member.refusedAt.set(key, now);
  return true;
}

/** A refused chat post's nonce, so its resends stay refused; as many are kept as a client may have pending, twice. */
export function rememberRefusedNonce(member: Member, nonce: string): void {
  member.refusedNonces.add(nonce);
  if (member.refusedNonces.size > 2 * CHAT_MAX_PENDING) member.refusedNonces.delete(member.refusedNonces.values().next().value!);
}

function limiterFor(label: DataLabel): RateLimiter {
  const { perSecond, burst } = DATA_RATE_LIMITS[label];
  return new RateLimiter(perSecond, burst);
}
