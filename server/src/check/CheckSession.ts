import type { types } from 'mediasoup';
import type { CheckPath, CheckResponses, ParsedCheckRequestOf } from '../../../shared/check.js';
import { ConclaveError } from '../../../shared/errors.js';
import type { IceServerInfo } from '../../../shared/protocol.js';
import type { Config } from '../config.js';
import { iceServersFor } from '../media/iceServers.js';
import type { PoolWorker, WorkerPool } from '../media/WorkerPool.js';
import { CheckTransport } from './CheckTransport.js';
import { CHECK_TRANSPORTS_PER_SESSION } from './limits.js';

export interface CheckSessionContext {
  config: Config;
  pool: WorkerPool;
  /** Asks for a place among the checks holding media; false when the server or this address has too many. */
  admit(): boolean;
  /** Gives the place back. */
  release(): void;
}

/**
 * One browser's check: a router of its own (made on its first transport, on the least-loaded
 * worker), at most one transport per path at a time, and a DirectTransport whose one DataProducer
 * the download pushes through. Everything goes when the socket does.
 */
export class CheckSession {
  private media: Promise<{ router: types.Router; host: PoolWorker; source: types.DataProducer }> | undefined;
  private readonly transports = new Map<CheckPath, CheckTransport>();
  private opened = 0;
  private admitted = false;
  private closed = false;

  constructor(
    private readonly id: string,
    private readonly context: CheckSessionContext,
  ) {}

  async openTransport({ path }: ParsedCheckRequestOf<'openTransport'>): Promise<CheckResponses['openTransport']> {
    const { config } = this.context;
    if (this.closed) throw new ConclaveError('NOT_FOUND', 'The check has ended');
    if (path === 'relay' && config.TURN_URLS.length === 0) throw new ConclaveError('UNSUPPORTED', 'This server has no TURN server configured');
    if (this.transports.get(path)?.closed === false) throw new ConclaveError('BAD_REQUEST', `A ${path} check transport is already open`);
    if (this.opened >= CHECK_TRANSPORTS_PER_SESSION) throw new ConclaveError('RATE_LIMITED', 'This check has opened enough transports; start a new check');
    this.opened++;
    const { router, host, source } = await this.ensureMedia();
    const check = await CheckTransport.open(router, host, source, path);
    if (this.closed) {
      check.close();
      throw new ConclaveError('NOT_FOUND', 'The check has ended');
    }
    this.transports.set(path, check);
    const { transport } = check;
    return {
      transportId: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
      sctpParameters: transport.sctpParameters!,
      iceServers: this.iceServers(path),
      channels: check.channels,
    };
  }

  transport(transportId: string): CheckTransport {
    for (const check of this.transports.values()) if (check.transport.id === transportId && !check.closed) return check;
    throw new ConclaveError('NOT_FOUND', 'No such check transport (closed, or timed out)');
  }

  closeTransport(transportId: string): void {
    for (const [path, check] of this.transports) {
      if (check.transport.id !== transportId) continue;
      check.close();
      this.transports.delete(path);
    }
  }

  close(): void {
    this.closed = true;
    for (const check of this.transports.values()) check.close();
    this.transports.clear();
    const media = this.media;
    this.media = undefined;
    if (media) void media.then(({ router }) => router.close()).catch(() => undefined);
    if (this.admitted) this.context.release();
    this.admitted = false;
  }

  private ensureMedia(): Promise<{ router: types.Router; host: PoolWorker; source: types.DataProducer }> {
    if (!this.media) {
      // One place per check session, however often making its media fails and is tried again.
      if (!this.admitted) {
        if (!this.context.admit()) throw new ConclaveError('RATE_LIMITED', 'Too many checks are running right now; try again in a minute');
        this.admitted = true;
      }
      this.media = (async () => {
        const { router, host } = await this.context.pool.createRouter([], { check: this.id });
        try {
          if (this.closed) throw new ConclaveError('NOT_FOUND', 'The check ended');
          const direct = await router.createDirectTransport();
          const source = await direct.produceData({ label: 'bulk' });
          return { router, host, source };
        } catch (error) {
          router.close();
          throw error;
        }
      })();
      this.media.catch(() => (this.media = undefined));
    }
    return this.media;
  }

  /** STUN for the direct paths, as a call has; TURN alone (fresh credentials) for the relay path. */
  private iceServers(path: CheckPath): IceServerInfo[] {
    const { config } = this.context;
    if (path !== 'relay') return config.STUN_URLS.length > 0 ? [{ urls: config.STUN_URLS }] : [];
    return iceServersFor(config, `check-${this.id}`).filter((server) => server.credential !== undefined);
  }
}
