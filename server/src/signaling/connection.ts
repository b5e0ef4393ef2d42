import type { Server, Socket } from 'socket.io';
import { ConclaveError } from '../../../shared/errors.js';
import type { Cluster } from '../cluster/Cluster.js';
import type { ClientToServerEvents, Notifications, ServerToClientEvents } from '../../../shared/protocol.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { Lobby, Waiter } from '../moderation/Lobby.js';
import type { Meetings } from '../moderation/Meetings.js';
import type { Recordings } from '../recording/Recordings.js';
import type { Room } from '../rooms/Room.js';
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
  meetings: Meetings;
  /** Recordings and live streams of rooms (server/src/recording). */
  recordings: Recordings;
  /** Knocks per client address, so a lobby cannot be flooded from one place. */
  knockLimiter: (address: string) => boolean;
  /** TRUST_PROXY: whose X-Forwarded-For names the client. */
  trustedProxies: ReadonlySet<string>;
  routerRtpCapabilities: Notifications['welcome']['routerRtpCapabilities'];
  version: string;
  /** Set when shutting down: no new joins. */
  draining: boolean;
  /** This node's cluster (REDIS_URL): joins for rooms that live on another node are redirected there. */
  cluster: Cluster | undefined;
}

/** One socket: where it is in the join life cycle, and the participant's session once it holds one. */
export class Connection {
  state: 'lobby' | 'joining' | 'joined' = 'lobby';
  session: Session | undefined;
  /** Bumped by every join/resume and by leaving, so a join finishing after a leave knows it is stale. */
  attempt = 0;
  readonly rateLimiter: RateLimiter;
  /** Waiting in a room's lobby. */
  private knock: { lobby: Lobby; knockId: string | undefined } | undefined;
  /** Let in from that room's lobby under that name: its next join as them goes straight in. */
  private admittedTo: { room: Room; displayName: string } | undefined;

  constructor(
    readonly socket: ConclaveSocket,
    readonly context: SignalingContext,
    readonly log: Logger,
    /** The client's address (behind a trusted proxy, from X-Forwarded-For). */
    readonly address: string,
  ) {
    this.rateLimiter = new RateLimiter(context.config.RATE_LIMIT_PER_SECOND, context.config.RATE_LIMIT_BURST);
  }

  notify<K extends keyof Notifications>(event: K, payload: Notifications[K]): void {
    // The client answers each consumer with resumeConsumer and a preference, on the server's budget.
    if (event === 'newConsumer') this.rateLimiter.credit(2);
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

  /** Whether this connection was let into `room` from its lobby as `displayName` (once). */
  takeAdmission(room: Room, displayName: string): boolean {
    const admitted = this.admittedTo?.room === room && this.admittedTo.displayName === displayName;
    this.admittedTo = undefined;
    return admitted;
  }

  /**
   * How `room`'s lobby reaches this connection if it has to knock. A connection waits in one
   * lobby at a time, and knocks no faster than its address may.
   */
  waiter(room: Room, lobby: Lobby): Waiter {
    const cancelPrevious = this.knock && this.knock.lobby !== lobby ? this.knock : undefined;
    if (cancelPrevious?.knockId) this.cancelKnock(cancelPrevious.lobby, cancelPrevious.knockId);
    return {
      notify: (event, payload) => this.notify(event, payload),
      address: this.address,
      admit: (displayName) => (this.admittedTo = { room, displayName }),
      forget: () => {
        if (this.knock?.lobby === lobby) this.knock = undefined;
      },
      knocking: () => {
        if (this.knock?.lobby === lobby) throw new ConclaveError('IN_LOBBY', 'You are already waiting in the lobby of this meeting');
        if (!this.context.knockLimiter(this.address)) throw new ConclaveError('RATE_LIMITED', 'Too many attempts to enter locked meetings; wait a minute');
        this.knock = { lobby, knockId: undefined };
      },
      knocked: (knockId) => {
        if (this.knock?.lobby === lobby) this.knock.knockId = knockId;
      },
    };
  }

  /** Leaving or disconnecting while in a lobby takes the knock back. */
  leaveLobby(): void {
    const knock = this.knock;
    this.knock = undefined;
    if (knock?.knockId) this.cancelKnock(knock.lobby, knock.knockId);
  }

  private cancelKnock(lobby: Lobby, knockId: string): void {
    lobby.cancel(knockId).catch((error: unknown) => this.log.error({ err: error }, 'cancelling a knock failed'));
  }

  /** The session left, ended or moved to another connection: this one is back in the lobby. */
  release(): void {
    this.attempt++;
    this.session = undefined;
    this.state = 'lobby';
  }
}
