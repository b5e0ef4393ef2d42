import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';

export interface WorkerPoolOptions {
  numWorkers: number;
  /** First media port; worker i listens on rtcPort + i. 0 lets the OS pick (tests). */
  rtcPort: number;
  listenIp: string;
  announcedAddress: string | undefined;
  logLevel: types.WorkerLogLevel;
  logger: Logger;
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
}

type WorkerPoolEvents = {
  /** A replacement for a dead worker is ready. */
  workerReplaced: [worker: PoolWorker];
};

/**
 * One worker per core, each with a WebRtcServer on a fixed UDP+TCP port pair so a deployment opens
 * a small known set of ports. Dead workers are replaced on the same index (and so the same ports).
 */
export class WorkerPool extends TypedEmitter<WorkerPoolEvents> {
  private readonly workers: (PoolWorker | undefined)[] = [];
  private closed = false;

  private constructor(private readonly options: WorkerPoolOptions) {
    super();
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

  /** The live worker with the fewest transports (then routers), skipping `avoid`; ties go to the lowest index. */
  leastLoaded(avoid: ReadonlySet<number> = new Set()): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const entry of this.live) {
      if (avoid.has(entry.index)) continue;
      if (!best || entry.transports < best.transports || (entry.transports === best.transports && entry.routers < best.routers)) {
        best = entry;
      }
    }
    return best;
  }

  /** A router on the least-loaded live worker; if every worker is dead, on the first replacement. */
  async createRouter(mediaCodecs: types.RouterRtpCodecCapability[], appData: types.AppData = {}): Promise<{ router: types.Router; host: PoolWorker }> {
    const host = this.leastLoaded() ?? (await this.nextReplacement());
    return { router: await host.worker.createRouter({ mediaCodecs, appData }), host };
  }

  /** A router on the least-loaded live worker outside `avoid`, or undefined when there is none. */
  async createRouterElsewhere(
    mediaCodecs: types.RouterRtpCodecCapability[],
    appData: types.AppData,
    avoid: ReadonlySet<number>,
  ): Promise<{ router: types.Router; host: PoolWorker } | undefined> {
    const host = this.leastLoaded(avoid);
    return host && { router: await host.worker.createRouter({ mediaCodecs, appData }), host };
  }

  private nextReplacement(timeoutMs = 15_000): Promise<PoolWorker> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('workerReplaced', onReplaced);
        reject(new Error(`No live mediasoup worker within ${timeoutMs} ms`));
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
    const { logger, rtcPort, listenIp, announcedAddress } = this.options;
    const worker = await mediasoup.createWorker({ logLevel: this.options.logLevel, appData: { index } });
    const port = rtcPort === 0 ? undefined : rtcPort + index;
    let webRtcServer: types.WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ip: listenIp, announcedAddress, port },
          { protocol: 'tcp', ip: listenIp, announcedAddress, port },
        ],
      });
    } catch (error) {
      worker.close();
      throw new Error(`Worker ${index} could not listen on ${listenIp}:${port ?? 'any'} (UDP+TCP): ${(error as Error).message}`, { cause: error });
    }
    const entry: PoolWorker = { index, worker, webRtcServer, transports: 0, consumers: 0, routers: 0 };
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
      });
    });
    worker.on('died', (error) => this.onWorkerDied(entry, error));
    this.workers[index] = entry;
    logger.info({ worker: index, pid: worker.pid, port: port ?? 'ephemeral' }, 'mediasoup worker ready');
    return entry;
  }

  private onWorkerDied(entry: PoolWorker, error: Error): void {
    const { logger } = this.options;
    logger.error({ worker: entry.index, pid: entry.worker.pid, err: error }, 'mediasoup worker died; replacing it');
    this.workers[entry.index] = undefined;
    if (this.closed) return;
    this.replace(entry.index, 0);
  }

  private replace(index: number, attempt: number): void {
    this.startWorker(index).then(
      (replacement) => {
        if (this.closed) {
          replacement.worker.close();
          return;
        }
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
