import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromThread, ThreadData, ToThread } from './protocol.js';
import { newRecord, type SyntheticPlan, type SyntheticRecord } from './records.js';

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
  /** Until its 'error' or 'exit'. */
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
  /** The sampling round under way: which threads still owe their reply. */
  private round: { id: number; owing: Set<Thread>; done: () => void } | null = null;
  private rounds = 0;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: PoolOptions) {
    const entry = threadEntry();
    this.threads = Array.from({ length: Math.max(1, options.threads) }, () => {
      const data: ThreadData = { url: options.url, maxVideos: options.maxVideos, media: options.media };
      const worker = new Worker(entry, { workerData: data });
      const thread: Thread = { worker, ids: new Set(), alive: true };
      worker.on('message', (message: FromThread) => this.onMessage(thread, message));
      worker.on('error', (error: Error) => this.threadEnded(thread, `synthetic thread failed: ${error.message}`));
      worker.on('exit', (code) => this.threadEnded(thread, `synthetic thread exited (code ${code})`));
      return thread;
    });
  }

  /** Joins one more synthetic participant; resolves when it has joined or failed. */
  join(plan: SyntheticPlan, token?: string): Promise<void> {
    const id = this.records.length;
    const record = newRecord(plan);
    this.records.push(record);
    const alive = this.threads.filter((candidate) => candidate.alive);
    const thread = alive[id % Math.max(1, alive.length)];
    if (!thread || this.closing) {
      record.error = this.closing ? 'the run was stopping' : 'every synthetic thread had failed';
      return Promise.resolve();
    }
    thread.ids.add(id);
    return new Promise((resolve) => {
      this.joins.set(id, resolve);
      thread.worker.postMessage({ type: 'join', id, plan, token } satisfies ToThread);
    });
  }

  /** A sampling round is under way. */
  get sampling(): boolean {
    return this.round !== null;
  }

  /** Takes a sample of every participant into its record (with the per-stream detail every 10th time, or when asked). */
  async sample(detail = this.rounds % 10 === 0): Promise<void> {
    const alive = this.threads.filter((thread) => thread.alive);
    if (this.round || alive.length === 0) return;
    const id = ++this.rounds;
    await new Promise<void>((resolve) => {
      this.round = { id, owing: new Set(alive), done: resolve };
      for (const thread of alive) thread.worker.postMessage({ type: 'sample', round: id, detail } satisfies ToThread);
    });
    this.round = null;
  }

  /** Closes every participant and thread (take the last sample before: everyone leaving changes it). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(
        this.threads
          .filter((thread) => thread.alive)
          .map(
            ({ worker }) =>
              new Promise<void>((resolve) => {
                const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 15_000);
                worker.once('exit', () => {
                  clearTimeout(timer);
                  resolve();
                });
                worker.postMessage({ type: 'close' } satisfies ToThread);
              }),
          ),
      );
    })();
    return this.closing;
  }

  private onMessage(thread: Thread, message: FromThread): void {
    switch (message.type) {
      case 'joined': {
        const record = this.records[message.id]!;
        Object.assign(record, message.record);
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
        this.answered(thread, message.round);
        return;
      }
      case 'closed':
        return;
    }
  }

  private answered(thread: Thread, round: number | null): void {
    const current = this.round;
    if (!current || (round !== null && round !== current.id)) return; // a late reply to an earlier round
    current.owing.delete(thread);
    if (current.owing.size === 0) current.done();
  }

  /** A thread that died (or exited before we closed it) takes its participants with it; no one waits for it. */
  private threadEnded(thread: Thread, why: string): void {
    if (!thread.alive) return;
    thread.alive = false;
    for (const id of thread.ids) {
      const record = this.records[id]!;
      if (this.closing === null) record.error ??= why;
      this.joins.get(id)?.();
      this.joins.delete(id);
    }
    this.answered(thread, null);
  }
}
