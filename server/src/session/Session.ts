import { timingSafeEqual } from 'node:crypto';
import type { LeaveReason, SessionEventBody } from '../../../shared/diagnostics.js';
import type { Notifications } from '../../../shared/protocol.js';
import type { Logger } from '../logger.js';
import type { Peer, PeerSession } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import type { Connection } from '../signaling/connection.js';
import { ConsumerPreferences } from './ConsumerPreferences.js';
import type { SessionLog } from './SessionEvents.js';
import type { SessionRegistry } from './SessionRegistry.js';

type Pending = { [K in keyof Notifications]: { event: K; payload: Notifications[K] } }[keyof Notifications];

/** Enough for a long reconnect in a busy room; beyond it the peer is resynced by a fresh join. */
const OUTBOX_LIMIT = 2000;

/**
 * One participant's connection life, across sockets: the connection it speaks through now, the
 * notifications queued while it has none, the grace period that keeps its place, taking its place
 * back (resume, or a newer socket taking over), leaving (by request, beacon or grace expiry),
 * what its client asked of its consumers, and its session events (what happened to it, for the
 * client's connection panel and the admin API). Nothing else holds any of this.
 */
export class Session implements PeerSession {
  private line: Connection | null;
  private readonly outbox: Pending[] = [];
  private overflowed = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private place: { room: Room; peer: Peer } | undefined;
  readonly preferences = new ConsumerPreferences();
  private history: SessionLog | undefined;
  /** Events flow to the client once it has its join answer; this many were sent. */
  private eventsFlow = false;
  private eventsSent = 0;
  /** Why it is leaving, when known before its peer closes (default: its room closed). */
  private leaveReason: LeaveReason | undefined;

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
    if (peer.isClosed) return;
    this.registry.add(peer.id, this);
    this.history = this.registry.events.open({ id: peer.id, displayName: peer.displayName, roomId: room.id, joinedAt: peer.joinedAt });
    this.record({ kind: 'joined', roomId: room.id, role: peer.role });
    this.record({ kind: 'signalling', state: 'connected' });
  }

  /** The client has its join answer: the events so far follow it, the rest as they happen. */
  startEvents(): void {
    this.eventsFlow = true;
    this.sendEvents();
  }

  /** Something happened to this participant: kept in its log, and told to it while connected. */
  record(event: SessionEventBody): void {
    if (this.history?.record(event)) this.sendEvents();
  }

  /**
   * Sends what the client has not had yet. Events recorded while it is disconnected wait in the
   * log rather than the outbox (which they could overflow), and follow a resume.
   */
  private sendEvents(): void {
    if (!this.line || !this.eventsFlow || !this.history) return;
    for (const event of this.history.since(this.eventsSent)) this.line.notify('sessionEvent', event);
    this.eventsSent = this.history.recorded;
  }

  /** Whether `resumeToken` proves the caller is this participant, still in its room. */
  admits(resumeToken: string): boolean {
    if (!this.place || this.place.peer.isClosed) return false;
    const a = Buffer.from(this.place.peer.resumeToken);
    const b = Buffer.from(resumeToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  send<K extends keyof Notifications>(event: K, payload: Notifications[K]): void {
    // The meeting and the failover tell the participant why before they close it: the log's reason.
    if (event === 'removed') this.leaveReason ??= (payload as Notifications['removed']).reason;
    else if (event === 'roomLost') this.leaveReason ??= 'roomLost';
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
    this.record({ kind: 'signalling', state: 'resumed' });
    this.sendEvents();
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
      this.leaveReason ??= connection.context.draining ? 'serverShutdown' : 'disconnected';
      room.leave(peer);
      return;
    }
    this.line = null;
    this.record({ kind: 'signalling', state: 'dropped' });
    room.broadcast('participantConnection', { peerId: peer.id, reconnecting: true }, peer);
    this.graceTimer = setTimeout(() => {
      this.log.info({ peer: peer.id }, 'reconnect grace period over; removing participant');
      this.leaveReason ??= 'reconnectTimeout';
      room.leave(peer);
    }, graceMs);
    this.graceTimer.unref();
  }

  /** Leaves the room now (a leave request or a closing tab's beacon); its connection goes back to the lobby. */
  leave(reason: LeaveReason): void {
    this.leaveReason ??= reason;
    if (this.line?.session === this) this.line.release();
    this.room.leave(this.peer);
  }

  /**
   * Its peer closed, however that came about (left, removed, its room lost): nothing is pending
   * any more, and a connection still speaking for it is back in the lobby, free to join again.
   */
  ended(): void {
    clearTimeout(this.graceTimer);
    this.history?.close(this.leaveReason ?? 'roomClosed');
    this.sendEvents();
    if (this.line?.session === this) this.line.release();
    if (this.place) this.registry.remove(this.place.peer.id, this);
  }
}
