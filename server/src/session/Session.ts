import { timingSafeEqual } from 'node:crypto';
import type { Notifications } from '../../../shared/protocol.js';
import type { Logger } from '../logger.js';
import type { Peer, PeerSession } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import type { Connection } from '../signaling/connection.js';
import { ConsumerPreferences } from './ConsumerPreferences.js';
import type { SessionRegistry } from './SessionRegistry.js';

type Pending = { [K in keyof Notifications]: { event: K; payload: Notifications[K] } }[keyof Notifications];

/** Enough for a long reconnect in a busy room; beyond it the peer is resynced by a fresh join. */
const OUTBOX_LIMIT = 2000;

/**
 * One participant's connection life, across sockets: the connection it speaks through now, the
 * notifications queued while it has none, the grace period that keeps its place, taking its place
 * back (resume, or a newer socket taking over), leaving (by request, beacon or grace expiry), and
 * what its client asked of its consumers. Nothing else holds any of this.
 */
export class Session implements PeerSession {
  private line: Connection | null;
  private readonly outbox: Pending[] = [];
  private overflowed = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private place: { room: Room; peer: Peer } | undefined;
  readonly preferences = new ConsumerPreferences();

  constructor(
    line: Connection,
    private readonly registry: SessionRegistry,
    private readonly log: Logger,
  ) {
    this.line = line;
  }

  get room(): Room {
    if (!this.place) throw new Error('This session has not entered a room');
    return this.place.room;
  }

  get peer(): Peer {
    if (!this.place) throw new Error('This session has not entered a room');
    return this.place.peer;
  }

  /** The connection it speaks through now; null while reconnecting. */
  get connection(): Connection | null {
    return this.line;
  }

  get connected(): boolean {
    return this.line !== null;
  }

  /** True when the outbox filled up while disconnected and some notifications were dropped. */
  get lostNotifications(): boolean {
    return this.overflowed;
  }

  /** The join placed it: from now on a resume or a beacon can find it. */
  enter(room: Room, peer: Peer): void {
    this.place = { room, peer };
    // A peer closed before this point has ended already and must not be found again.
    if (!peer.isClosed) this.registry.add(peer.id, this);
  }

  /** Whether `resumeToken` proves the caller is this participant, still in its room. */
  admits(resumeToken: string): boolean {
    if (!this.place || this.place.peer.isClosed) return false;
    const a = Buffer.from(this.place.peer.resumeToken);
    const b = Buffer.from(resumeToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  send<K extends keyof Notifications>(event: K, payload: Notifications[K]): void {
    if (this.line) {
      this.line.notify(event, payload);
    } else if (this.outbox.length < OUTBOX_LIMIT) {
      this.outbox.push({ event, payload } as Pending);
    } else {
      this.overflowed = true;
    }
  }

  /**
   * A new connection proved it is this participant: the grace period stops, and a previous
   * connection the server has not seen die yet is cut. Returns whether it was reconnecting.
   */
  takeOver(connection: Connection): boolean {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const wasReconnecting = !this.connected;
    const previous = this.line;
    if (previous && previous !== connection) {
      previous.release();
      previous.socket.disconnect(true);
    }
    return wasReconnecting;
  }

  /** Speaks through `connection` from now on, first delivering what queued while there was none. */
  attach(connection: Connection): void {
    this.line = connection;
    for (const { event, payload } of this.outbox.splice(0)) {
      connection.notify(event, payload);
    }
  }

  /**
   * `connection` dropped without a leave: keep the place and media for the grace period, queueing
   * notifications, unless a newer connection already took over.
   */
  lost(connection: Connection): void {
    const { room, peer } = this;
    if (peer.isClosed || this.line !== connection) return;
    const graceMs = connection.context.config.RECONNECT_GRACE_SECONDS * 1000;
    if (graceMs === 0 || connection.context.draining) {
      room.leave(peer);
      return;
    }
    this.line = null;
    room.broadcast('participantConnection', { peerId: peer.id, reconnecting: true }, peer);
    this.graceTimer = setTimeout(() => {
      this.log.info({ peer: peer.id }, 'reconnect grace period over; removing participant');
      room.leave(peer);
    }, graceMs);
    this.graceTimer.unref();
  }

  /** Leaves the room now (a leave request or a closing tab's beacon); its connection goes back to the lobby. */
  leave(): void {
    if (this.line?.session === this) this.line.release();
    this.room.leave(this.peer);
  }

  /**
   * Its peer closed, however that came about (left, removed, its room lost): nothing is pending
   * any more, and a connection still speaking for it is back in the lobby, free to join again.
   */
  ended(): void {
    clearTimeout(this.graceTimer);
    if (this.line?.session === this) this.line.release();
    if (this.place) this.registry.remove(this.place.peer.id, this);
  }
}
