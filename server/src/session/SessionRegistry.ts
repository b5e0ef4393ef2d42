import type { Session } from './Session.js';
import { SessionEvents, type SessionEventsOptions } from './SessionEvents.js';

/**
 * Sessions by peer id, from the join that placed them until their peer closes: who a resume or a
 * beacon is for. Their session events (SessionEvents) outlive them for the retention time.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  readonly events: SessionEvents;

  constructor(events: SessionEventsOptions) {
    this.events = new SessionEvents(events);
  }

  add(peerId: string, session: Session): void {
    this.sessions.set(peerId, session);
  }

  remove(peerId: string, session: Session): void {
    if (this.sessions.get(peerId) === session) this.sessions.delete(peerId);
  }

  find(peerId: string): Session | undefined {
    return this.sessions.get(peerId);
  }
}
