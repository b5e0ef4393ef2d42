import { SESSION_EVENTS_MAX, type LeaveReason, type SessionEvent, type SessionEventBody } from '../../../shared/diagnostics.js';

/** Whose log it is: what the admin API says of the participant besides the events. */
export interface SessionSubject {
  id: string;
  displayName: string;
  roomId: string;
  joinedAt: number;
}

/** What the admin API answers for one participant (GET /rooms/:room/participants/:id/events). */
export interface SessionRecord {
  participant: SessionSubject & { leftAt: number | null };
  events: SessionEvent[];
}

/**
 * Left participants whose logs are kept at most, however many leave within the retention time: a
 * flood of joins and leaves costs at most this many logs (each at most SESSION_EVENTS_MAX events).
 */
export const RETAINED_LOGS_MAX = 2000;

/**
 * Events a left participant's log keeps (its last ones, which say how the session ended): bounds
 * what a flood of joins, churn and leaves can hold for the retention time to 2,000 × 150 events.
 */
export const RETAINED_EVENTS_MAX = 150;

/**
 * One participant's session events, newest last, at most `max` (the oldest go first). Closed by
 * its `left` event; nothing is recorded after it.
 */
export class SessionLog {
  private readonly events: SessionEvent[] = [];
  private count = 0;
  private left: number | null = null;

  constructor(
    readonly subject: SessionSubject,
    private readonly max: number,
    private readonly onClose: (log: SessionLog) => void,
  ) {}

  /** How many events were ever recorded (also those the ring dropped since). */
  get recorded(): number {
    return this.count;
  }

  get leftAt(): number | null {
    return this.left;
  }

  /** Stamps and keeps the event; false once the participant left. */
  record(body: SessionEventBody): boolean {
    if (this.left !== null) return false;
    this.events.push({ at: Date.now(), ...body });
    if (this.events.length > this.max) this.events.shift();
    this.count++;
    return true;
  }

  /** The events recorded after the first `count` that the ring still holds. */
  since(count: number): SessionEvent[] {
    const dropped = this.count - this.events.length;
    return this.events.slice(Math.max(0, count - dropped));
  }

  /** The participant left: the last event, and the log is kept for the retention time. */
  close(reason: LeaveReason): void {
    if (this.left !== null) return;
    this.record({ kind: 'left', reason });
    this.left = Date.now();
    this.onClose(this);
  }

  /** Keeps only the newest `max` events (a left participant's log, see RETAINED_EVENTS_MAX). */
  trim(max: number): void {
    if (this.events.length > max) this.events.splice(0, this.events.length - max);
  }

  describe(): SessionRecord {
    return { participant: { ...this.subject, leftAt: this.left }, events: [...this.events] };
  }
}

export interface SessionEventsOptions {
  /** How long a left participant's log stays readable. */
  retainMs: number;
  /** Events per participant (default SESSION_EVENTS_MAX). */
  maxEvents?: number;
  /** Left participants' logs kept at most (default RETAINED_LOGS_MAX): the oldest go first. */
  maxRetained?: number;
}

/**
 * Every participant's session log, by peer id: from the join while they are in a room, then for
 * `retainMs` after they leave (even when their room has closed), so an operator can read what
 * happened after a call failed. One unref'd timer drops expired logs; a process never waits on it.
 */
export class SessionEvents {
  private readonly live = new Map<string, SessionLog>();
  /** Left participants' logs, oldest departure first. */
  private readonly retained = new Map<string, SessionLog>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly maxEvents: number;
  private readonly maxRetained: number;

  constructor(private readonly options: SessionEventsOptions) {
    this.maxEvents = options.maxEvents ?? SESSION_EVENTS_MAX;
    this.maxRetained = options.maxRetained ?? RETAINED_LOGS_MAX;
  }

  /** A new log for a participant who just joined. */
  open(subject: SessionSubject): SessionLog {
    const log = new SessionLog(subject, this.maxEvents, (closed) => this.retain(closed));
    this.live.set(subject.id, log);
    return log;
  }

  /** The participant's log: in a room now, or left less than the retention time ago. */
  find(peerId: string): SessionLog | undefined {
    const log = this.live.get(peerId) ?? this.retained.get(peerId);
    if (log?.leftAt != null && Date.now() - log.leftAt >= this.options.retainMs) return undefined;
    return log;
  }

  private retain(log: SessionLog): void {
    const id = log.subject.id;
    if (this.live.get(id) === log) this.live.delete(id);
    log.trim(RETAINED_EVENTS_MAX);
    this.retained.set(id, log);
    this.sweep();
  }

  /** Drops logs past their retention time, and the oldest beyond the cap; waits for the next expiry. */
  private sweep(): void {
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
    const now = Date.now();
    for (const [id, log] of this.retained) {
      const expired = now - (log.leftAt ?? now) >= this.options.retainMs;
      if (!expired && this.retained.size <= this.maxRetained) break;
      this.retained.delete(id);
    }
    const oldest = this.retained.values().next().value;
    if (oldest?.leftAt == null) return;
    this.sweeper = setTimeout(() => this.sweep(), Math.max(0, oldest.leftAt + this.options.retainMs - now));
    this.sweeper.unref();
  }
}
