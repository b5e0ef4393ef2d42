import { Worker } from 'node:worker_threads';
import type { StreamCount } from './rtp.js';

export type Snapshot = Map<number, StreamCount>;

interface Receiver {
  thread: Worker;
  port: number;
}

/** Counting sinks in worker threads, so counting does not compete with the main thread's timers. */
export class ReceiverPool {
  private constructor(private readonly receivers: Receiver[]) {}

  static async start(count: number): Promise<ReceiverPool> {
    const receivers = await Promise.all(
      Array.from({ length: count }, async (): Promise<Receiver> => {
        const thread = new Worker(new URL('./receiverThread.js', import.meta.url));
        const port = await new Promise<number>((resolve, reject) => {
          thread.once('error', reject);
          thread.once('message', (message: { type: string; port: number }) => resolve(message.port));
        });
        return { thread, port };
      }),
    );
    return new ReceiverPool(receivers);
  }

  /** The UDP ports consumers should send to (spread evenly over them). */
  get ports(): number[] {
    return this.receivers.map((receiver) => receiver.port);
  }

  async snapshot(): Promise<Snapshot> {
    const parts = await Promise.all(
      this.receivers.map(
        ({ thread }) =>
          new Promise<Float64Array>((resolve) => {
            thread.once('message', (message: { type: string; flat: Float64Array }) => resolve(message.flat));
            thread.postMessage({ type: 'snapshot' });
          }),
      ),
    );
    const snapshot: Snapshot = new Map();
    for (const flat of parts) {
      for (let i = 0; i < flat.length; i += 4) snapshot.set(flat[i]!, { received: flat[i + 1]!, highest: flat[i + 2]!, first: flat[i + 3]! });
    }
    return snapshot;
  }

  /** Resolves once nothing more arrives for 150 ms (or after 3 s): the sockets' queues are empty. */
  async drained(): Promise<Snapshot> {
    const total = (snapshot: Snapshot): number => [...snapshot.values()].reduce((sum, count) => sum + count.received, 0);
    const deadline = Date.now() + 3000;
    let last = await this.snapshot();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const now = await this.snapshot();
      if (total(now) === total(last) || Date.now() > deadline) return now;
      last = now;
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.receivers.map(
        ({ thread }) =>
          new Promise((resolve) => {
            thread.once('exit', resolve);
            thread.postMessage({ type: 'close' });
          }),
      ),
    );
  }
}
