import type { Notifications } from '../../../shared/protocol.js';
import type { Signaling } from './Signaling.js';

type KnockAnswer = Notifications['knockAnswered'];

/**
 * How a wait in the lobby ends: the knock's answer; `again` when the connection dropped and came
 * back (the server forgot the knock, so we knock again); `left` when we gave up waiting.
 */
export type LobbyOutcome = { answer: KnockAnswer } | 'again' | 'left';

/**
 * Our wait in a locked room's lobby, between the join's IN_LOBBY answer and the knock's answer.
 * The server tells us whether anyone who can let us in is present before it answers the join, and
 * may answer the knock before we have read IN_LOBBY (the room unlocked that moment), so both are
 * kept from the start of each join attempt.
 */
export class LobbyWait {
  /** Whether a host or moderator is in the room (lobbyStatus). */
  moderatorsPresent = false;
  private early: KnockAnswer | null = null;
  private wake: ((outcome: LobbyOutcome) => void) | null = null;

  constructor(signaling: Signaling, onStatus: (moderatorsPresent: boolean) => void) {
    signaling.on('lobbyStatus', ({ moderatorsPresent }) => {
      this.moderatorsPresent = moderatorsPresent;
      if (this.wake) onStatus(moderatorsPresent);
    });
    signaling.on('knockAnswered', (answer) => {
      if (this.wake) this.wake({ answer });
      else this.early = answer;
    });
  }

  get waiting(): boolean {
    return this.wake !== null;
  }

  /** A join is about to be sent: nothing is known of its knock yet. */
  begin(): void {
    this.early = null;
    this.moderatorsPresent = false;
  }

  /** Resolves when the wait ends (see LobbyOutcome). */
  async wait(): Promise<LobbyOutcome> {
    if (this.early) {
      const answer = this.early;
      this.early = null;
      return { answer };
    }
    try {
      return await new Promise<LobbyOutcome>((resolve) => (this.wake = resolve));
    } finally {
      this.wake = null;
    }
  }

  /** Ends a wait in progress without an answer. */
  interrupt(outcome: 'again' | 'left'): void {
    this.wake?.(outcome);
  }
}
