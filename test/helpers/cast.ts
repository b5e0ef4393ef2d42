import { TestParticipant } from './participant.js';

/**
 * The people of one describe block's stories: each arrives connected (welcome received) and is
 * closed by `dismiss()` after the story; each story's rooms have names no other story uses.
 */
export class Cast {
  private readonly everyone: TestParticipant[] = [];
  private rooms = 0;

  /** `server` is read only when someone arrives (a `useServer` handle is fine). */
  constructor(private readonly server: { url: string }) {}

  async arrive(name: string, on: { url: string } = this.server): Promise<TestParticipant> {
    const participant = await TestParticipant.connect(on.url, name);
    this.everyone.push(participant);
    return participant;
  }

  /** A room id no other story of this cast uses. */
  newRoom(label: string): string {
    this.rooms += 1;
    return `${label}-${this.rooms}`;
  }

  /** Everyone who arrived so far leaves (closes their connection), in parallel or one by one. */
  async dismiss({ oneByOne = false } = {}): Promise<void> {
    const leaving = this.everyone.splice(0);
    if (!oneByOne) await Promise.all(leaving.map((participant) => participant.close()));
    else for (const participant of leaving) await participant.close();
  }
}
