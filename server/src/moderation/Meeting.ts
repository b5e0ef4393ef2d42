import { randomUUID } from 'node:crypto';
import { ConclaveError } from '../../../shared/errors.js';
import { DEFAULT_POLICY, type Actor, type Knock, type Reaction, type RoomPolicy } from '../../../shared/moderation.js';
import type { MediaSource, RemovalReason } from '../../../shared/protocol.js';
import { moderates, type Role } from '../../../shared/roles.js';
import type { Logger } from '../logger.js';
import type { Peer } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import { RateLimiter } from '../signaling/RateLimiter.js';
import { Lobby, type LobbyOptions, type Waiter } from './Lobby.js';
import type { RoomStateStore } from './RoomState.js';

export interface MeetingOptions extends LobbyOptions {
  /** No join tokens: the first person in is the host, and the role passes on when they leave. */
  autoHost: boolean;
}

/** What others (webhooks) hear of a meeting beyond the room's own events. */
export interface MeetingObserver {
  removed(room: Room, peer: Peer, by: Actor, reason: RemovalReason): void;
}

export interface Entry {
  displayName: string;
  /** From the join token; undefined without one. */
  tokenRole: Role | undefined;
  banKeys: string[];
  /** The room's creator asked for the lobby (`?lobby=1` or the token's claim). */
  wantsLobby: boolean;
  /** The connection was let in from the lobby for this room. */
  admitted: boolean;
  waiter: Waiter;
}

/** Reactions: a few in a burst, then one a second. */
const REACTION_RATE = 1;
const REACTION_BURST = 4;

/**
 * A room run as a meeting: who is host or moderator, the lobby, the rules (lock, permissions),
 * hands, reactions and the moderation actions, each checked and written to the audit log. The
 * shared part lives in a RoomStateStore; peers mirror their role and hand for notifications.
 * Signalling and the admin API both act through here.
 */
export class Meeting {
  readonly lobby: Lobby;
  /** Mirrors the store's policy, for checks that cannot wait (data channels). */
  policy: RoomPolicy = { ...DEFAULT_POLICY };
  private readonly ready: Promise<void>;
  private occupied = false;
  private closedAt: number | null = null;
  /**
   * This room's key in the store: a room closed and opened again under the same id is another
   * meeting, and a late write for the old one (a shared store answers later) cannot touch it.
   */
  private readonly stateKey: string;
  private readonly reactionLimiters = new WeakMap<Peer, RateLimiter>();

  constructor(
    readonly room: Room,
    private readonly store: RoomStateStore,
    private readonly options: MeetingOptions,
    private readonly observer: MeetingObserver,
    private readonly log: Logger,
  ) {
    this.stateKey = `${room.id}#${randomUUID()}`;
    this.lobby = new Lobby(this.stateKey, store, options, (knocks) => this.toModerators(knocks), log);
    this.ready = store.policy(this.stateKey).then((policy) => void (this.policy = policy));
    room.permits = (peer, what) => this.policy[what] === 'everyone' || moderates(peer.role);
    room.on('joined', (peer) => this.background(this.seated(peer), 'seating a participant'));
    room.on('left', (peer) => this.background(this.gone(peer), 'a participant leaving'));
    room.once('closed', () => this.background(this.closed(), 'closing the meeting'));
    // A room spanning nodes: the rules set on another node hold here too.
    room.on('delivered', (notice) => {
      if (notice.event === 'policy') this.background(this.adoptPolicy(notice.payload), 'adopting the rules set on another node');
    });
  }

  private async adoptPolicy(policy: RoomPolicy): Promise<void> {
    this.policy = await this.store.updatePolicy(this.stateKey, policy);
  }

  /**
   * Whether this person may come in now: FORBIDDEN when banned; IN_LOBBY (having knocked) when the
   * room is locked and they are neither let in nor a host or moderator by token.
   */
  async checkEntry(entry: Entry): Promise<{ role: () => Role; lockOnWelcome: boolean }> {
    await this.ready;
    if (await this.store.isBanned(this.stateKey, entry.banKeys)) {
      throw new ConclaveError('FORBIDDEN', 'You were removed from this meeting and cannot rejoin until it ends');
    }
    // Only the room's creator may lock it on arrival, and only for their own join.
    const lockOnWelcome = entry.wantsLobby && !this.occupied && this.room.peers.size === 0;
    const privileged = entry.tokenRole !== undefined && moderates(entry.tokenRole);
    if (this.policy.locked && !privileged && !entry.admitted) {
      await this.lobby.knock(entry.displayName, entry.waiter);
      throw new ConclaveError('IN_LOBBY', 'This meeting is locked: you are in the lobby until a host lets you in');
    }
    return { role: () => entry.tokenRole ?? (this.options.autoHost && !this.hasHost() ? 'host' : 'participant'), lockOnWelcome };
  }

  /** After the join answer: a host or moderator sees who waits; the creator who asked for it gets the lock. */
  async welcome(peer: Peer, lockOnWelcome: boolean): Promise<void> {
    if (moderates(peer.role)) peer.notify('lobby', { knocks: this.lobby.knocks });
    if (lockOnWelcome && !peer.isClosed && this.closedAt === null) await this.setPolicy({ peerId: peer.id, displayName: peer.displayName }, { locked: true });
  }

  async mute(by: Actor, target: Peer, source: MediaSource): Promise<void> {
    this.mayActOn(by, target);
    const producer = [...target.producers.values()].find((candidate) => candidate.appData.source === source);
    if (source === 'screen') producer?.close();
    else if (producer && !producer.paused) await producer.pause();
    target.notify('mutedBy', { source, by });
    this.audit(by, 'mute', target, { source });
  }

  /** Every microphone but the actor's own; returns how many were on. */
  async muteAll(by: Actor): Promise<number> {
    let muted = 0;
    const actor = 'peerId' in by ? this.room.peers.get(by.peerId) : undefined;
    for (const peer of [...this.room.peers.values()]) {
      if (peer === actor) continue;
      // A moderator's "mute all" leaves hosts alone, as muting one host alone would.
      if (peer.role === 'host' && actor !== undefined && actor.role !== 'host') continue;
      const mic = [...peer.producers.values()].find((producer) => producer.appData.source === 'mic');
      if (!mic || mic.paused) continue;
      await mic.pause();
      muted++;
      peer.notify('mutedBy', { source: 'mic', by });
    }
    this.audit(by, 'muteAll', null, { muted });
    return muted;
  }

  askToUnmute(by: Actor, target: Peer): void {
    this.mayActOn(by, target);
    target.notify('unmuteRequested', { by });
    this.audit(by, 'askToUnmute', target);
  }

  /** Takes someone out; with `ban`, their name (and token subject) cannot come back until the room closes. */
  async remove(by: Actor, target: Peer, ban: boolean): Promise<void> {
    this.mayActOn(by, target);
    if (ban) await this.store.ban(this.stateKey, target.banKeys.length > 0 ? target.banKeys : [nameKey(target.displayName)]);
    const reason = ban ? 'banned' : 'removed';
    const message = ban ? 'You were removed from the meeting and cannot rejoin it' : 'You were removed from the meeting';
    target.notify('removed', { reason, message });
    this.audit(by, ban ? 'ban' : 'remove', target);
    this.observer.removed(this.room, target, by, reason);
    this.room.leave(target);
  }

  /** Hosts only: someone becomes moderator or goes back to participant. A host's role stays. */
  async setRole(by: Actor, target: Peer, role: 'moderator' | 'participant'): Promise<void> {
    if (target.role === 'host') throw new ConclaveError('FORBIDDEN', 'A host’s role cannot be changed');
    await this.store.setRole(this.stateKey, target.id, role);
    target.role = role;
    this.room.broadcast('participantUpdated', target.info);
    if (role === 'moderator') target.notify('lobby', { knocks: this.lobby.knocks });
    this.updateLobbyStatus();
    this.audit(by, 'setRole', target, { role });
  }

  async setPolicy(by: Actor, patch: Partial<RoomPolicy>): Promise<RoomPolicy> {
    this.policy = await this.store.updatePolicy(this.stateKey, patch);
    this.room.broadcast('policy', this.policy);
    this.audit(by, 'setPolicy', null, { patch });
    // Unlocking opens the door for everyone waiting; a screen no longer allowed stops.
    if (patch.locked === false) await this.lobby.answer(true);
    if (this.policy.screenShare === 'moderators') {
      for (const peer of [...this.room.peers.values()]) {
        if (!moderates(peer.role) && peer.publishing.has('screen')) await this.mute(by, peer, 'screen');
      }
    }
    return this.policy;
  }

  async answerKnocks(by: Actor, admit: boolean, knockIds?: readonly string[]): Promise<number> {
    const answered = await this.lobby.answer(admit, knockIds);
    this.audit(by, admit ? 'admit' : 'deny', null, { knocks: knockIds ?? 'all', answered });
    return answered;
  }

  /** Ends the meeting: everyone is told and the room closes. */
  async end(by: Actor): Promise<void> {
    this.audit(by, 'endMeeting', null, { participants: this.room.peers.size });
    for (const peer of this.room.peers.values()) {
      peer.notify('removed', { reason: 'ended', message: 'The meeting was ended' });
    }
    await this.lobby.close({ admitted: false, reason: 'ended', message: 'The meeting was ended' });
    this.room.close();
  }

  async raiseHand(peer: Peer): Promise<void> {
    peer.handRaisedAt = await this.store.raiseHand(this.stateKey, peer.id, Date.now());
    this.room.broadcast('participantUpdated', peer.info);
  }

  async lowerHand(by: Actor, target: Peer): Promise<void> {
    const self = 'peerId' in by && by.peerId === target.id;
    if (!(await this.store.lowerHand(this.stateKey, target.id))) return;
    target.handRaisedAt = null;
    this.room.broadcast('participantUpdated', target.info);
    if (!self) this.audit(by, 'lowerHand', target);
  }

  async lowerAllHands(by: Actor): Promise<void> {
    for (const peerId of await this.store.lowerAllHands(this.stateKey)) {
      const peer = this.room.peers.get(peerId);
      if (!peer) continue;
      peer.handRaisedAt = null;
      this.room.broadcast('participantUpdated', peer.info);
    }
    this.audit(by, 'lowerAllHands', null);
  }

  react(peer: Peer, reaction: Reaction): void {
    let limiter = this.reactionLimiters.get(peer);
    if (!limiter) this.reactionLimiters.set(peer, (limiter = new RateLimiter(REACTION_RATE, REACTION_BURST)));
    if (!limiter.take()) throw new ConclaveError('RATE_LIMITED', 'Too many reactions; slow down');
    this.room.broadcast('reaction', { peerId: peer.id, reaction });
  }

  /** A moderator may not act on a host; nobody acts on themself here (they have their own controls). */
  private mayActOn(by: Actor, target: Peer): void {
    if (!('peerId' in by)) return;
    if (by.peerId === target.id) throw new ConclaveError('BAD_REQUEST', 'Use your own controls for yourself');
    // The actor may be on another node of a room spanning nodes.
    const actorRole = this.room.peers.get(by.peerId)?.role ?? this.room.remote.get(by.peerId)?.info.role;
    if (target.role === 'host' && actorRole !== 'host') throw new ConclaveError('FORBIDDEN', 'Only a host can do that to a host');
  }

  /** A host in the room, on this node or (a room spanning nodes) on another. */
  private hasHost(): boolean {
    return [...this.room.peers.values()].some((peer) => peer.role === 'host') || [...this.room.remote.values()].some((remote) => remote.info.role === 'host');
  }

  private async seated(peer: Peer): Promise<void> {
    this.occupied = true;
    this.updateLobbyStatus();
    // A ban that landed while this join was making its transports still holds.
    if (await this.store.isBanned(this.stateKey, peer.banKeys)) {
      peer.notify('removed', { reason: 'banned', message: 'You were removed from the meeting and cannot rejoin it' });
      this.room.leave(peer);
      return;
    }
    if (this.closedAt === null && !peer.isClosed) await this.store.setRole(this.stateKey, peer.id, peer.role);
  }

  /** Someone left: their role and hand go; without tokens, the host's role passes to the longest present. */
  private async gone(peer: Peer): Promise<void> {
    await this.store.forget(this.stateKey, peer.id);
    if (this.room.isClosed) return;
    if (this.options.autoHost && peer.role === 'host' && !this.hasHost()) {
      const successor = [...this.room.peers.values()].sort((a, b) => a.joinedAt - b.joinedAt)[0];
      if (successor) {
        successor.role = 'host';
        await this.store.setRole(this.stateKey, successor.id, 'host');
        this.room.broadcast('participantUpdated', successor.info);
        successor.notify('lobby', { knocks: this.lobby.knocks });
        this.log.info({ peer: successor.id, name: successor.displayName }, 'host role passed on');
      }
    }
    this.updateLobbyStatus();
  }

  private async closed(): Promise<void> {
    this.closedAt = Date.now();
    await this.lobby.close({ admitted: false, reason: 'ended', message: 'The meeting ended before you were let in' });
    await this.store.clear(this.stateKey);
  }

  /** Work the room's events start: a failure is logged, never an unhandled rejection. */
  private background(task: Promise<void>, what: string): void {
    task.catch((error: unknown) => this.log.error({ err: error }, `${what} failed`));
  }

  private updateLobbyStatus(): void {
    this.lobby.setModeratorsPresent([...this.room.peers.values()].some((peer) => moderates(peer.role)));
  }

  private toModerators(knocks: Knock[]): void {
    for (const peer of this.room.peers.values()) if (moderates(peer.role)) peer.notify('lobby', { knocks });
  }

  private audit(by: Actor, action: string, target: Peer | null, details: Record<string, unknown> = {}): void {
    this.log.info(
      {
        audit: action,
        by: 'peerId' in by ? { id: by.peerId, name: by.displayName } : 'admin API',
        target: target ? { id: target.id, name: target.displayName } : undefined,
        ...details,
      },
      'moderation',
    );
  }
}

/** A ban by name ignores case, so "Mallory" cannot come back as "mallory". */
export function nameKey(displayName: string): string {
  return `name:${displayName.toLocaleLowerCase()}`;
}
