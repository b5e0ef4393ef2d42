import { CHAT_HISTORY, type ChatMessage } from '../../../shared/data.js';

/**
 * How long, and how many, posted chat nonces are remembered. A client resends within seconds of
 * getting its channels back; the chat rate limit bounds how fast the set can grow.
 */
const POSTED_NONCES_MS = 5 * 60_000;
const POSTED_NONCES_KEPT = 5000;

/**
 * The room's chat as the server keeps it: the last CHAT_HISTORY messages for participants who join
 * later, and the nonces of recent posts, so a post resent after a connection reset is not posted twice.
 */
export class ChatLog {
  private readonly messages: ChatMessage[] = [];
  /** Nonces of recent posts with when they were posted, oldest first. */
  private readonly postedNonces = new Map<string, number>();

  hasPosted(nonce: string): boolean {
    return this.postedNonces.has(nonce);
  }

  post(message: ChatMessage): void {
    if (message.nonce !== undefined) this.rememberPosted(message.nonce);
    this.messages.push(message);
    if (this.messages.length > CHAT_HISTORY) this.messages.shift();
  }

  snapshot(): ChatMessage[] {
    return [...this.messages];
  }

  private rememberPosted(nonce: string): void {
    const now = Date.now();
    this.postedNonces.set(nonce, now);
    for (const [oldest, postedAt] of this.postedNonces) {
      if (this.postedNonces.size <= POSTED_NONCES_KEPT && now - postedAt < POSTED_NONCES_MS) break;
      this.postedNonces.delete(oldest);
    }
  }
}
