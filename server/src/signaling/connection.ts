import type { Server, Socket } from 'socket.io';
import { ConclaveError } from '../../../shared/errors.js';
import type { ClientToServerEvents, Notifications, ServerToClientEvents } from '../../../shared/protocol.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { Session } from '../session/Session.js';
import type { SessionRegistry } from '../session/SessionRegistry.js';
import { RateLimiter } from './RateLimiter.js';

export type ConclaveServer = Server<ClientToServerEvents, ServerToClientEvents>;
export type ConclaveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** What every signalling domain may use. */
export interface SignalingContext {
  config: Config;
  log: Logger;
  pool: WorkerPool;
  rooms: RoomRegistry;
  sessions: SessionRegistry;
  routerRtpCapabilities: Notifications['welcome']['routerRtpCapabilities'];
  version: string;
  /** Set when shutting down: no new joins. */
  draining: boolean;
}

/** One socket: where it is in the join life cycle, and the participant's session once it holds one. */
export class Connection {
  state: 'lobby' | 'joining' | 'joined' = 'lobby';
  session: Session | undefined;
  /** Bumped by every join/resume and by leaving, so a join finishing after a leave knows it is stale. */
  attempt = 0;
  readonly rateLimiter: RateLimiter;

  constructor(
    readonly socket: ConclaveSocket,
    readonly context: SignalingContext,
    readonly log: Logger,
  ) {
    this.rateLimiter = new RateLimiter(context.config.RATE_LIMIT_PER_SECOND, context.config.RATE_LIMIT_BURST);
  }

  notify<K extends keyof Notifications>(event: K, payload: Notifications[K]): void {
    const emit = this.socket.emit.bind(this.socket) as (event: K, payload: Notifications[K]) => boolean;
    emit(event, payload);
  }

  /** The session of a joined connection (its room and peer); NOT_JOINED otherwise. */
  joined(): Session {
    if (!this.session || this.session.peer.isClosed) {
      throw new ConclaveError('NOT_JOINED', 'Join a room first');
    }
    return this.session;
  }

  /** The session left, ended or moved to another connection: this one is back in the lobby. */
  release(): void {
    this.attempt++;
    this.session = undefined;
    this.state = 'lobby';
  }
}
