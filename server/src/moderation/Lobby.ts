import { randomUUID } from 'node:crypto';
import { ConclaveError } from '../../../shared/errors.js';
import type { Knock } from '../../../shared/moderation.js';
import type { Notifications } from '../../../shared/protocol.js';
import type { Logger } from '../logger.js';
import type { RoomStateStore } from './RoomState.js';

/** A connection waiting at the door. */
export interface Waiter {
  notify<K extends 'knockAnswered' | 'lobbyStatus'>(event: K, payload: Notifications[K]): void;
  /** About to knock: throws if it already waits here or knocks too often. */
  knocking(): void;
  knocked(knockId: string): void;
  /** The client's address (one address may not fill a lobby). */
  readonly address: string;
  /** Its next join to this room under this name goes straight in. */
  admit(displayName: string): void;
  /** The knock is over (answered, timed out, cancelled): the connection forgets it. */
  forget(): void;
}

export interface LobbyOptions {
  timeoutMs: number;
  maxKnocks: number;
}

interface Waiting {
  knock: Knock;
  waiter: Waiter;
  timer: NodeJS.Timeout;
}

type Answer = Notifications['knockAnswered'];

/** People waiting at once from one address (an office behind one NAT is several; a flood is many). */
const KNOCKS_PER_ADDRESS = 10;

/**
 * The people waiting to be let into a locked room: each knock waits at most `timeoutMs`, the
 * lobby holds at most `maxKnocks`, and hosts and moderators are told whenever it changes.
 */
export class Lobby {
  private readonly waiting = new Map<string, Waiting>();
  private moderatorsPresent = false;

  constructor(
    /** The room's key in the store (RoomStateStore). */
    private readonly roomId: string,
    private readonly store: RoomStateStore,
    private readonly options: LobbyOptions,
    /** Whenever who waits changes: hosts and moderators get the new list. */
    private readonly changed: (knocks: Knock[]) => void,
    private readonly log: Logger,
  ) {}

  get knocks(): Knock[] {
    return [...this.waiting.values()].map(({ knock }) => ({ ...knock })).sort((a, b) => a.since - b.since);
  }

  has(knockId: string): boolean {
    return this.waiting.has(knockId);
  }

  /** Puts someone in the lobby; ROOM_FULL when it is full. Returns the knock to cancel it by. */
  async knock(displayName: string, waiter: Waiter): Promise<Knock> {
    waiter.knocking();
    if (this.waiting.size >= this.options.maxKnocks) {
      waiter.forget();
      throw new ConclaveError('ROOM_FULL', 'The lobby of this room is full; try again later');
    }
    if ([...this.waiting.values()].filter((other) => other.waiter.address === waiter.address).length >= KNOCKS_PER_ADDRESS) {
      waiter.forget();
      throw new ConclaveError('RATE_LIMITED', 'Too many people from your network are waiting here already');
    }
    const knock: Knock = { id: randomUUID(), displayName, since: Date.now() };
    const timeout = { admitted: false, reason: 'timeout', message: 'Nobody let you in in time; try again later' } as const;
    const timer = setTimeout(() => {
      this.finish(knock.id, timeout).catch((error: unknown) => this.log.error({ err: error }, 'ending a knock failed'));
    }, this.options.timeoutMs);
    timer.unref();
    this.waiting.set(knock.id, { knock, waiter, timer });
    waiter.knocked(knock.id);
    await this.store.addKnock(this.roomId, knock);
    this.log.info({ knock: knock.id, name: displayName, waiting: this.waiting.size }, 'knocked');
    waiter.notify('lobbyStatus', { moderatorsPresent: this.moderatorsPresent });
    this.changed(this.knocks);
    return knock;
  }

  /** Admits or turns away these knocks (all without ids); returns how many were answered. */
  async answer(admit: boolean, knockIds?: readonly string[]): Promise<number> {
    const ids = knockIds ?? [...this.waiting.keys()];
    const answer: Answer = admit ? { admitted: true, message: 'You were let in' } : { admitted: false, reason: 'denied', message: 'A host did not let you in' };
    let answered = 0;
    for (const id of ids) if (await this.finish(id, answer)) answered++;
    return answered;
  }

  /** The waiting connection left or disconnected. */
  async cancel(knockId: string): Promise<void> {
    await this.finish(knockId, null);
  }

  /** Whether anyone who can let people in is in the room, for those waiting. */
  setModeratorsPresent(present: boolean): void {
    if (present === this.moderatorsPresent) return;
    this.moderatorsPresent = present;
    for (const { waiter } of this.waiting.values()) waiter.notify('lobbyStatus', { moderatorsPresent: present });
  }

  /** The room closed: everyone waiting is told. */
  async close(answer: Answer): Promise<void> {
    for (const id of [...this.waiting.keys()]) await this.finish(id, answer);
  }

  private async finish(knockId: string, answer: Answer | null): Promise<boolean> {
    const waiting = this.waiting.get(knockId);
    if (!waiting) return false;
    this.waiting.delete(knockId);
    clearTimeout(waiting.timer);
    waiting.waiter.forget();
    if (answer?.admitted) waiting.waiter.admit(waiting.knock.displayName);
    if (answer) waiting.waiter.notify('knockAnswered', answer);
    this.log.info({ knock: knockId, answer: answer ? (answer.admitted ? 'admitted' : answer.reason) : 'cancelled' }, 'knock finished');
    this.changed(this.knocks);
    await this.store.removeKnock(this.roomId, knockId);
    return true;
  }
}
