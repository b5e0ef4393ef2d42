import { clientDataText, DATA_MESSAGE_MAX_BYTES, type FastMessage, FastPost } from '../../../../shared/data.js';
import { ConclaveError } from '../../../../shared/errors.js';
import { firstIssue } from '../../../../shared/identity.js';
import { TypedEmitter } from '../../../../shared/TypedEmitter.js';
import type { DataPort } from './DataPort.js';

/** Received messages kept for `received()`; older ones are only seen through the event. */
const RECENT = 200;

export type FastEvents = {
  message: [message: FastMessage];
};

/**
 * Small, latency-sensitive messages to everyone else in the room: unordered and never
 * retransmitted, so a lost message is simply gone and a late one never holds up a newer one.
 * Made for state that is resent anyway (cursor positions, game input, telemetry); every message
 * carries a topic so applications can share the channel.
 */
export class FastChannel extends TypedEmitter<FastEvents> {
  private readonly recent: FastMessage[] = [];
  private readonly encoder = new TextEncoder();

  constructor(private readonly port: DataPort) {
    super();
  }

  /**
   * Sends `data` (any JSON value) under `topic`; false when the channel is not open, in which case
   * nothing is sent (as with any message this channel loses). Throws on what the server would refuse.
   */
  send(topic: string, data: unknown): boolean {
    const post = FastPost.safeParse({ topic, data });
    if (!post.success) throw new ConclaveError('BAD_REQUEST', firstIssue(post.error));
    const message = clientDataText('fast', post.data);
    if (this.encoder.encode(message).byteLength > DATA_MESSAGE_MAX_BYTES.fast) {
      throw new ConclaveError('TOO_LARGE', `A fast message is at most ${DATA_MESSAGE_MAX_BYTES.fast} bytes`);
    }
    const producer = this.port.producer('fast');
    if (!producer) return false;
    producer.send(message);
    return true;
  }

  /** The latest messages from others, oldest first. */
  received(): readonly FastMessage[] {
    return this.recent;
  }

  receive(message: FastMessage): void {
    // The room sends to everyone, the sender included.
    if (message.from === this.port.selfId()) return;
    this.recent.push(message);
    if (this.recent.length > RECENT) this.recent.shift();
    this.emit('message', message);
  }
}
