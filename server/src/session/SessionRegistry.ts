import type { Session } from './Session.js';

/** Sessions by peer id, from the join that placed them until their peer closes: who a resume or a beacon is for. */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

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
