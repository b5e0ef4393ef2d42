import type { types } from 'mediasoup';

/**
 * A full send buffer is retried once it drained below this (well under the association's buffer,
 * SCTP_SEND_BUFFER_BYTES, or mediasoup would never see it cross the mark).
 */
const LOW_WATER_BYTES = 128 * 1024;
/** If mediasoup does not report the buffer draining (it reports changes, not levels), try again after this. */
const RETRY_MS = 20;

interface Item {
  data: Buffer | string;
  /** Transfer it belongs to, so a cancelled transfer's queued chunks can be dropped. */
  fileId: number;
  /** Called once the receiver's SCTP association accepted the message. */
  sent?: () => void;
}

/**
 * Messages for one participant's data consumer, sent one at a time. mediasoup drops a message
 * when the association's send buffer is full (`sctpsendbufferfull`); here the message waits for
 * the buffer to drain and goes again, so nothing queued is lost to a slow receiver. A message the
 * consumer cannot send at all (its transport is not connected) is reported, with the rest of its
 * transfer, which can no longer arrive whole.
 */
export class Outbox {
  private readonly queue: Item[] = [];
  private pumping = false;
  private closed = false;

  constructor(
    private readonly consumer: types.DataConsumer,
    private readonly onFailed: (outbox: Outbox, fileId: number) => void,
  ) {
    void consumer.setBufferedAmountLowThreshold(LOW_WATER_BYTES).catch(() => undefined);
  }

  get isClosed(): boolean {
    return this.closed || this.consumer.closed;
  }

  push(item: Item): void {
    if (this.isClosed) return;
    this.queue.push(item);
    void this.pump();
  }

  /** Forgets what is still queued for a transfer (the message in flight, if any, still goes). */
  drop(fileId: number): void {
    for (let index = this.queue.length - 1; index >= 0; index--) {
      if (this.queue[index]?.fileId === fileId) this.queue.splice(index, 1);
    }
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.queue.shift(); item && !this.isClosed; item = this.queue.shift()) {
        const outcome = await this.sendOnce(item.data);
        if (outcome === 'full') {
          this.queue.unshift(item);
          await this.drained();
        } else if (outcome === 'failed') {
          this.drop(item.fileId);
          this.onFailed(this, item.fileId);
        } else {
          item.sent?.();
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async sendOnce(data: Buffer | string): Promise<'sent' | 'full' | 'failed'> {
    try {
      await this.consumer.send(data);
      return 'sent';
    } catch (error) {
      return error instanceof Error && error.message.includes('sctpsendbufferfull') ? 'full' : 'failed';
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.consumer.off('bufferedamountlow', done);
        resolve();
      };
      const timer = setTimeout(done, RETRY_MS);
      this.consumer.once('bufferedamountlow', done);
    });
  }
}
