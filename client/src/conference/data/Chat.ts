import { CHAT_MAX_PENDING, type ChatMessage, ChatPost, clientDataText } from '../../../../shared/data.js';
import { ConclaveError } from '../../../../shared/errors.js';
import { TypedEmitter } from '../../../../shared/TypedEmitter.js';
import type { DataPort } from './DataPort.js';

/** Messages kept in the page; the server keeps fewer for late joiners. */
const LOCAL_HISTORY = 500;

export type ChatEvents = {
  /** A message arrived; `fromHistory` when it came with the room's history rather than live. */
  message: [message: ChatMessage, fromHistory: boolean];
  /** The list was emptied (we joined the room afresh). */
  cleared: [];
};

/** The room's chat: everyone's messages in the server's order, stamped by the server. */
export class Chat extends TypedEmitter<ChatEvents> {
  private readonly list: ChatMessage[] = [];
  /**
   * What we sent and have not seen come back, oldest first. A channel looks open until the
   * browser notices its connection died (a worker crash: a second or so), and what is sent
   * meanwhile is gone; these go again once the channels are back (resendUnconfirmed).
   */
  private unconfirmed: Required<ChatPost>[] = [];

  constructor(private readonly port: DataPort) {
    super();
  }

  get messages(): readonly ChatMessage[] {
    return this.list;
  }

  /** Sends to everyone in the room (us included: our message shows when the server has it). */
  async send(text: string): Promise<void> {
    const post = ChatPost.safeParse({ text });
    // The issue alone ("Message is empty"), without the field path: it is shown to the person typing.
    if (!post.success) throw new ConclaveError('BAD_REQUEST', post.error.issues[0]?.message ?? 'Invalid message');
    await this.port.whenReady();
    const producer = this.port.producer('chat');
    if (!producer) throw new ConclaveError('NOT_JOINED', 'Chat is not connected');
    const sent = { text: post.data.text, nonce: newNonce() };
    producer.send(clientDataText('chat', sent));
    // Kept only once the channel took it: a send that threw was reported to the caller, not queued.
    this.unconfirmed.push(sent);
    if (this.unconfirmed.length > CHAT_MAX_PENDING) this.unconfirmed.shift();
  }

  /**
   * The channels are back and in sync after an interruption: whatever we sent that the room's
   * history does not show goes again, in order (the server drops any it already had).
   */
  resendUnconfirmed(): void {
    const producer = this.port.producer('chat');
    if (!producer) return;
    try {
      for (const post of this.unconfirmed) producer.send(clientDataText('chat', post));
    } catch {
      // The channel closed again meanwhile: the next time it is back, these go again.
    }
  }

  /** The server refused one of ours (too fast, invalid): it will not come back, so it is not resent. */
  refused(nonce: string): void {
    this.unconfirmed = this.unconfirmed.filter((post) => post.nonce !== nonce);
  }

  /** A live message from the room. */
  receive(message: ChatMessage): void {
    this.add(message, false);
  }

  /** The room's history: whatever is newer than what we have (after a resume or reset, only the gap). */
  catchUp(history: ChatMessage[]): void {
    const last = this.list.at(-1)?.seq ?? 0;
    for (const message of history) if (message.seq > last) this.add(message, true);
  }

  clear(): void {
    this.list.length = 0;
    this.emit('cleared');
  }

  private add(message: ChatMessage, fromHistory: boolean): void {
    // The channel is ordered: our message back means every one we sent before it arrived (or was refused).
    const echoed = message.nonce === undefined ? -1 : this.unconfirmed.findIndex((post) => post.nonce === message.nonce);
    if (echoed >= 0) this.unconfirmed.splice(0, echoed + 1);
    this.list.push(message);
    if (this.list.length > LOCAL_HISTORY) this.list.shift();
    this.emit('message', message, fromHistory);
  }
}

/** 128 random bits; getRandomValues works outside secure contexts too (randomUUID does not). */
function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
