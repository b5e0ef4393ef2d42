import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromThread, ThreadData, ToThread } from './protocol.js';
import type { SyntheticPlan, SyntheticRecord } from './SyntheticParticipant.js';

/** About how many synthetic participants one event loop carries at this machine's speed. */
export const PARTICIPANTS_PER_THREAD = 100;

/**
 * The compiled thread: beside this module when it runs compiled, or from the build when it runs as
 * TypeScript source (the test runner), since a worker thread cannot load the source itself.
 */
function threadEntry(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./thread.js', import.meta.url);
  const root = path.resolve(path.dirname(here), '../../..');
  const built = path.join(root, 'dist/scripts/loadtest/synthetic/thread.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: build the tools first (npm run build:tools)`);
  return pathToFileURL(built);
}

interface Thread {
  worker: Worker;
  ids: Set<number>;
  alive: boolean;
}

export interface PoolOptions {
  url: string;
  threads: number;
  maxVideos: number;
  /** Some participants send (each thread loads the media, which must be in the cache already). */
  media: boolean;
}

/**
 * Synthetic participants spread over worker threads. The records live here, on the main thread:
 * threads report joins and, when asked, one sample per participant.
 */
export class SyntheticPool {
  readonly records: SyntheticRecord[] = [];
  private readonly threads: Thread[];
  private readonly joins = new Map<number, () => void>();
  private pendingSamples: { expected: number; done: () => void } | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: PoolOptions) {
    const entry = threadEntry();
    this.threads = Array.from({ length: Math.max(1, options.threads) }, () => {
      const data: ThreadData = { url: options.url, maxVideos: options.maxVideos, media: options.media };
      const worker = new Worker(entry, { workerData: data });
      const thread: Thread = { worker, ids: new Set(), alive: true };
      worker.on('message', (message: FromThread) => this.onMessage(message));
      worker.on('error', (error: Error) => this.threadFailed(thread, error));
      return thread;
    });
  }

  /** Joins one more synthetic participant; resolves when it has joined or failed. */
  join(plan: SyntheticPlan, token?: string): Promise<void> {
    const id = this.records.length;
    this.records.push({
      name: plan.name,
      room: plan.room,
      sender: plan.sender,
      startedAt: Date.now(),
      joinMs: null,
      error: null,
      peerId: null,
      samples: [],
      streams: [],
    });
    const alive = this.threads.filter((candidate) => candidate.alive);
    const thread = alive[id % Math.max(1, alive.length)] ?? this.threads[0]!;
    thread.ids.add(id);
    return new Promise((resolve) => {
      this.joins.set(id, resolve);
      this.post(thread, { type: 'join', id, plan, token });
    });
  }

  get joined(): SyntheticRecord[] {
    return this.records.filter((record) => record.joinMs !== null && record.error === null);
  }

  private samplesTaken = 0;

  /** Takes a sample of every participant into its record (with the per-stream detail every 10th time, or when asked). */
  async sample(detail = this.samplesTaken % 10 === 0): Promise<void> {
    const alive = this.threads.filter((thread) => thread.alive);
    if (this.closing || this.pendingSamples || alive.length === 0) return;
    await new Promise<void>((resolve) => {
      this.pendingSamples = { expected: alive.length, done: resolve };
      this.samplesTaken++;
      for (const thread of alive) this.post(thread, { type: 'sample', detail });
    });
    this.pendingSamples = null;
  }

  /** Takes a last sample with the detail, then closes every participant and thread. */
  async close(): Promise<void> {
    if (!this.closing) {
      while (this.pendingSamples) await new Promise((resolve) => setTimeout(resolve, 50));
      await this.sample(true);
    }
    this.closing ??= Promise.all(
      this.threads.map(
        ({ worker }) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 10_000);
            worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            worker.postMessage({ type: 'close' } satisfies ToThread);
          }),
      ),
    ).then(() => undefined);
    return this.closing;
  }

  private post(thread: Thread, message: ToThread): void {
    thread.worker.postMessage(message);
  }

  private onMessage(message: FromThread): void {
    switch (message.type) {
      case 'joined': {
        Object.assign(this.records[message.id]!, message.record);
        this.joins.get(message.id)?.();
        this.joins.delete(message.id);
        return;
      }
      case 'samples': {
        for (const { id, sample, record } of message.list) {
          const target = this.records[id]!;
          Object.assign(target, record);
          if (sample) target.samples.push(sample);
        }
        const pending = this.pendingSamples;
        if (pending && --pending.expected === 0) pending.done();
        return;
      }
      case 'closed':
        return;
    }
  }

  /** A thread that died takes its participants with it: each is marked failed, and no one waits for it. */
  private threadFailed(thread: Thread, error: Error): void {
    thread.alive = false;
    for (const id of thread.ids) {
      const record = this.records[id]!;
      record.error ??= `synthetic thread failed: ${error.message}`;
      this.joins.get(id)?.();
      this.joins.delete(id);
    }
    const pending = this.pendingSamples;
    if (pending && --pending.expected === 0) pending.done();
  }
}
