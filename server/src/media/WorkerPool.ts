import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';

/**
 * Every participant's media on a worker arrives on its WebRtcServer's one UDP socket, so a burst
 * while the worker waits for a core (a busy machine) overflows Linux's default 208 KiB buffer and
 * drops packets before mediasoup sees them (measured: 2-3 % of every stream with 30 load-test
 * participants on 2 cores). The kernel caps this at net.core.rmem_max / wmem_max (docs/deploy.md, "Socket buffers").
 */
const SOCKET_BUFFER_BYTES = 4 * 2 ** 20;

export interface WorkerPoolOptions {
  numWorkers: number;
  /** First media port; worker i listens on rtcPort + i. 0 lets the OS pick (tests). */
  rtcPort: number;
  listenIp: string;
  announcedAddress: string | undefined;
  /** More addresses to listen on (UDP and TCP, same port), each announced as itself. */
  alsoListenOn?: string[];
  logLevel: types.WorkerLogLevel;
  logger: Logger;
  /** Milliseconds since the epoch; tests move it to check the crash-loop window. */
  now?: () => number;
}

/** A slot whose worker died more than this many times within CRASH_WINDOW_MS is in a crash loop. */
export const CRASH_LOOP_DEATHS = 3;
export const CRASH_WINDOW_MS = 60_000;
/** A crash-looping slot's first delayed replacement waits this long; each further death doubles it. */
const CRASH_BACKOFF_FIRST_MS = 2000;
const CRASH_BACKOFF_MAX_MS = 30_000;
/** A worker that failed a request is not offered for this long (its death is usually on the way). */
const SUSPECT_MS = 2000;
/** How long router creation waits for a live worker when none is left (e.g. all died at once). */
const WAIT_FOR_WORKER_MS = 15_000;

/** One worker's death: which slot, and whose media (producers or pipes of them) it carried then. */
export interface WorkerDeath {
  index: number;
  pid: number;
  at: number;
  /** Participants with a producer (or a pipe of one) on the worker when it died. */
  peerIds: Set<string>;
  /** The slot is dying in a loop: its replacement is delayed by this much (0 when not). */
  replacementDelayMs: number;
}

/** No live worker appeared in time: the caller says "unavailable", not "internal error". */
export class NoWorkerError extends Error {
  constructor(waitedMs: number) {
    super(`No live mediasoup worker within ${waitedMs} ms`);
    this.name = 'NoWorkerError';
  }
}

/** One mediasoup worker process, its WebRtcServer and the load it carries. */
export interface PoolWorker {
  readonly index: number;
  readonly worker: types.Worker;
  readonly webRtcServer: types.WebRtcServer;
  /** Transports currently open on this worker: the load measure for placement. */
  transports: number;
  /** Consumers (including pipe consumers): what a room's spread threshold is measured in. */
  consumers: number;
  routers: number;
  /** Producers on this worker (own and piped), by id, with their owner; kept as they were at its death. */
  readonly media: Map<string, string>;
  /** Epoch ms until which placement skips this worker (a request on it failed). */
  suspectUntil: number;
}

type WorkerPoolEvents = {
  /** A worker died; its replacement is on the way (after `replacementDelayMs`). */
  workerDied: [death: WorkerDeath];
  /** A replacement for a dead worker is ready. */
  workerReplaced: [worker: PoolWorker];
};

/**
 * One worker per core, each with a WebRtcServer on a fixed UDP+TCP port pair so a deployment opens
 * a small known set of ports. Dead workers are replaced on the same index (and so the same ports).
 */
export class WorkerPool extends TypedEmitter<WorkerPoolEvents> {
  private readonly workers: (PoolWorker | undefined)[] = [];
  /** Each slot's recent death times (epoch ms), for crash-loop detection. */
  private readonly deathTimes = new Map<number, number[]>();
  /** Slots whose replacement is being held back by the crash-loop back-off. */
  private readonly backingOff = new Set<number>();
  private readonly deathCount = new Map<number, number>();
  private crashLoopCount = 0;
  private closed = false;
  private readonly now: () => number;

  private constructor(private readonly options: WorkerPoolOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      await Promise.all(Array.from({ length: options.numWorkers }, (_, index) => pool.startWorker(index)));
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Live workers, in index order. */
  get live(): PoolWorker[] {
    return this.workers.filter((entry): entry is PoolWorker => entry !== undefined && !entry.worker.closed);
  }

  /** Slots in a crash loop whose replacement is being held back now. */
  get crashLooping(): number[] {
    return [...this.backingOff].sort((a, b) => a - b);
  }

  /** Deaths per slot since the pool started, and how many replacements the crash-loop back-off delayed. */
  get faults(): { deaths: Map<number, number>; delayedReplacements: number } {
    return { deaths: new Map(this.deathCount), delayedReplacements: this.crashLoopCount };
  }

  /** The live worker with the fewest transports (then routers), skipping `avoid` and suspects; ties go to the lowest index. */
  leastLoaded(avoid: ReadonlySet<number> = new Set()): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    const now = this.now();
    for (const entry of this.live) {
      if (avoid.has(entry.index) || entry.suspectUntil > now) continue;
      if (!best || entry.transports < best.transports || (entry.transports === best.transports && entry.routers < best.routers)) {
        best = entry;
      }
    }
    return best;
  }

  /**
   * A router on the least-loaded live worker. A worker that fails the request (it died a moment
   * ago and does not know yet: several workers dying together) is skipped and the next one tried;
   * with none live it waits for a replacement, up to `waitMs`, then throws NoWorkerError.
   */
  async createRouter(
    mediaCodecs: types.RouterRtpCodecCapability[],
    appData: types.AppData = {},
    waitMs = WAIT_FOR_WORKER_MS,
  ): Promise<{ router: types.Router; host: PoolWorker }> {
    const deadline = this.now() + waitMs;
    for (;;) {
      if (this.closed) throw new Error('The worker pool is closed');
      const host = this.leastLoaded() ?? (await this.nextReplacement(deadline - this.now(), waitMs));
      const router = await this.tryCreateRouter(host, mediaCodecs, appData);
      if (router) return { router, host };
    }
  }

  /** A router on the least-loaded live worker outside `avoid`, or undefined when there is none. */
  async createRouterElsewhere(
    mediaCodecs: types.RouterRtpCodecCapability[],
    appData: types.AppData,
    avoid: ReadonlySet<number>,
  ): Promise<{ router: types.Router; host: PoolWorker } | undefined> {
    for (let host = this.leastLoaded(avoid); host; host = this.leastLoaded(avoid)) {
      const router = await this.tryCreateRouter(host, mediaCodecs, appData);
      if (router) return { router, host };
    }
    return undefined;
  }

  /** A router on `host`, or undefined (and `host` set aside for a moment) when the worker fails it. */
  private async tryCreateRouter(host: PoolWorker, mediaCodecs: types.RouterRtpCodecCapability[], appData: types.AppData): Promise<types.Router | undefined> {
    try {
      return await host.worker.createRouter({ mediaCodecs, appData });
    } catch (error) {
      host.suspectUntil = this.now() + SUSPECT_MS;
      this.options.logger.warn({ worker: host.index, err: error }, 'worker failed to create a router; trying another');
      return undefined;
    }
  }

  /** The next worker to become live (a replacement), within `timeoutMs`. */
  private nextReplacement(timeoutMs: number, waitedMs: number): Promise<PoolWorker> {
    if (timeoutMs <= 0) return Promise.reject(new NoWorkerError(waitedMs));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('workerReplaced', onReplaced);
        reject(new NoWorkerError(waitedMs));
      }, timeoutMs);
      const onReplaced = (worker: PoolWorker): void => {
        clearTimeout(timer);
        this.off('workerReplaced', onReplaced);
        resolve(worker);
      };
      this.on('workerReplaced', onReplaced);
    });
  }

  workerPids(): number[] {
    return this.live.map((entry) => entry.worker.pid);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.workers) entry?.worker.close();
  }

  private async startWorker(index: number): Promise<PoolWorker> {
    const { logger, rtcPort, listenIp, announcedAddress, alsoListenOn = [] } = this.options;
    const worker = await mediasoup.createWorker({ logLevel: this.options.logLevel, appData: { index } });
    const port = rtcPort === 0 ? undefined : rtcPort + index;
    const addresses = [{ ip: listenIp, announcedAddress }, ...alsoListenOn.map((ip) => ({ ip, announcedAddress: undefined }))];
    let webRtcServer: types.WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: addresses.flatMap(({ ip, announcedAddress: announced }) => [
          { protocol: 'udp' as const, ip, announcedAddress: announced, port, recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES },
          { protocol: 'tcp' as const, ip, announcedAddress: announced, port },
        ]),
      });
    } catch (error) {
      worker.close();
      const where = addresses.map(({ ip }) => `${ip}:${port ?? 'any'}`).join(', ');
      throw new Error(`Worker ${index} could not listen on ${where} (UDP+TCP): ${(error as Error).message}`, { cause: error });
    }
    const entry: PoolWorker = { index, worker, webRtcServer, transports: 0, consumers: 0, routers: 0, media: new Map(), suspectUntil: 0 };
    worker.observer.on('newrouter', (router) => {
      entry.routers++;
      router.observer.on('close', () => entry.routers--);
      router.observer.on('newtransport', (transport) => {
        entry.transports++;
        transport.observer.on('close', () => entry.transports--);
        transport.observer.on('newconsumer', (consumer) => {
          entry.consumers++;
          consumer.observer.on('close', () => entry.consumers--);
        });
        // Pipe producers carry their original's appData, so a piped camera counts for its owner too.
        transport.observer.on('newproducer', (producer) => {
          const { peerId } = producer.appData as { peerId?: unknown };
          if (typeof peerId !== 'string') return;
          entry.media.set(producer.id, peerId);
          // A worker's death closes everything on it first: keep what was there for the post-mortem.
          producer.observer.on('close', () => {
            if (!worker.died) entry.media.delete(producer.id);
          });
        });
      });
    });
    worker.on('died', (error) => this.onWorkerDied(entry, error));
    this.workers[index] = entry;
    logger.info({ worker: index, pid: worker.pid, port: port ?? 'ephemeral' }, 'mediasoup worker ready');
    return entry;
  }

  private onWorkerDied(entry: PoolWorker, error: Error): void {
    const { logger } = this.options;
    const { index } = entry;
    if (this.workers[index] === entry) this.workers[index] = undefined;
    if (this.closed) return;
    const at = this.now();
    const recent = [...(this.deathTimes.get(index) ?? []), at].filter((time) => at - time < CRASH_WINDOW_MS);
    this.deathTimes.set(index, recent);
    this.deathCount.set(index, (this.deathCount.get(index) ?? 0) + 1);
    // Past the threshold each death doubles the wait, so a poison input cannot spin the machine.
    const excess = recent.length - CRASH_LOOP_DEATHS;
    const delayMs = excess > 0 ? Math.min(CRASH_BACKOFF_MAX_MS, CRASH_BACKOFF_FIRST_MS * 2 ** (excess - 1)) : 0;
    if (delayMs > 0) {
      this.crashLoopCount++;
      this.backingOff.add(index);
      logger.error(
        { worker: index, pid: entry.worker.pid, err: error, deathsInWindow: recent.length, windowSeconds: CRASH_WINDOW_MS / 1000, replaceInMs: delayMs },
        'mediasoup worker is crash-looping; its replacement is delayed',
      );
    } else {
      logger.error({ worker: index, pid: entry.worker.pid, err: error }, 'mediasoup worker died; replacing it');
    }
    this.emit('workerDied', { index, pid: entry.worker.pid, at, peerIds: new Set(entry.media.values()), replacementDelayMs: delayMs });
    if (delayMs > 0) setTimeout(() => this.replace(index, 0), delayMs).unref();
    else this.replace(index, 0);
  }

  private replace(index: number, attempt: number): void {
    if (this.closed) return;
    this.startWorker(index).then(
      (replacement) => {
        if (this.closed) {
          replacement.worker.close();
          return;
        }
        this.backingOff.delete(index);
        this.emit('workerReplaced', replacement);
      },
      (error: unknown) => {
        // The dead worker's ports can take a moment to be released; retry with backoff.
        const delay = Math.min(5000, 250 * 2 ** attempt);
        this.options.logger.error({ worker: index, err: error, retryInMs: delay }, 'replacement worker failed to start');
        if (!this.closed) setTimeout(() => this.replace(index, attempt + 1), delay).unref();
      },
    );
  }
}
