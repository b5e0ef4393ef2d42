import type { Notifications } from '../../../shared/protocol.js';

/** Where a peer's notifications go: its current connection. */
export interface NotificationSink {
  notify<K extends keyof Notifications>(event: K, payload: Notifications[K]): void;
}

type Pending = { [K in keyof Notifications]: { event: K; payload: Notifications[K] } }[keyof Notifications];

/** Enough for a long reconnect in a busy room; beyond it the peer is resynced by a fresh join. */
const OUTBOX_LIMIT = 2000;

/**
 * A peer's line to its client. While the connection is down (within the reconnect grace period)
 * notifications queue in order and are delivered on resume, so nothing that happened meanwhile is lost.
 */
export class PeerLink {
  private sink: NotificationSink | null;
  private readonly outbox: Pending[] = [];
  private overflowed = false;

  constructor(sink: NotificationSink) {
    this.sink = sink;
  }

  get connected(): boolean {
    return this.sink !== null;
  }

  /** True when the outbox filled up and some notifications were dropped. */
  get lostNotifications(): boolean {
    return this.overflowed;
  }

  get current(): NotificationSink | null {
    return this.sink;
  }

  isAttachedTo(sink: NotificationSink): boolean {
    return this.sink === sink;
  }

  send<K extends keyof Notifications>(event: K, payload: Notifications[K]): void {
    if (this.sink) {
      this.sink.notify(event, payload);
    } else if (this.outbox.length < OUTBOX_LIMIT) {
      this.outbox.push({ event, payload } as Pending);
    } else {
      this.overflowed = true;
    }
  }

  detach(): void {
    this.sink = null;
  }

  /** Binds a new connection and delivers what queued while there was none. */
  attach(sink: NotificationSink): void {
    this.sink = sink;
    for (const { event, payload } of this.outbox.splice(0)) {
      (sink.notify as (event: keyof Notifications, payload: Notifications[keyof Notifications]) => void)(event, payload);
    }
  }
}
