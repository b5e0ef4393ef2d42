import { DEFAULT_POLICY, type Knock, type Reaction, type RoomPolicy } from '../../../shared/moderation.js';
import type { ParticipantInfo, RequestName, RequestOf, Responses } from '../../../shared/protocol.js';
import { moderates, type Role } from '../../../shared/roles.js';
import type { Emit, Report } from './events.js';
import type { LocalMedia } from './LocalMedia.js';
import { actionsOn, permitted, type ParticipantAction } from './permissions.js';
import { Recording } from './Recording.js';
import type { Signaling } from './Signaling.js';
import type { RaisedHand, RemoteParticipant } from './types.js';

export interface MeetingContext {
  signaling: Signaling;
  local: LocalMedia;
  /** Our own participant (null before joining); its role and hand are kept up to date here. */
  self: () => ParticipantInfo | null;
  participants: () => ReadonlyMap<string, RemoteParticipant>;
  emit: Emit;
  report: Report;
}

/**
 * The room as a meeting: our role, the room's rules, who waits in the lobby, raised hands and
 * reactions, its recording and live stream, and a typed method for every moderation request. The
 * server checks every request (FORBIDDEN when our role may not); `actionsOn` and `may` say
 * beforehand what it would allow.
 */
export class Meeting {
  /** The room's rules, as of the join answer and every `policy` notification since. */
  policy: RoomPolicy = { ...DEFAULT_POLICY };
  /** Who waits in the lobby, longest first (hosts and moderators only). */
  knocks: Knock[] = [];
  /** The room's recording and live stream: what runs, and (hosts and moderators) starting and stopping them. */
  readonly recording: Recording;

  constructor(private readonly context: MeetingContext) {
    const { signaling, local, emit, report } = context;
    this.recording = new Recording(signaling, emit);
    signaling.on('policy', (policy) => {
      this.policy = policy;
      emit('policyChanged', policy);
    });
    signaling.on('lobby', ({ knocks }) => this.setKnocks(knocks));
    signaling.on('participantUpdated', (info) => this.updateSelf(info));
    // The server has already paused that producer (or closed the screen's): follow it here, so the
    // toolbar shows it and turning it back on is ours to do. Already off (mute all): nothing to tell.
    signaling.on('mutedBy', ({ source, by }) => {
      if (!local.sources[source].enabled) return;
      const done = source === 'screen' ? local.stopScreen(true) : local.set(source, false);
      void done.catch(report).then(() => emit('mutedBy', source, by));
    });
    signaling.on('unmuteRequested', ({ by }) => emit('unmuteRequested', by));
    signaling.on('reaction', ({ peerId, reaction }) => emit('reaction', peerId, reaction));
  }

  /** Our role; null before joining. */
  get role(): Role | null {
    return this.context.self()?.role ?? null;
  }

  /** We are a host or moderator. */
  get moderating(): boolean {
    const role = this.role;
    return role !== null && moderates(role);
  }

  /** Whether the room's rules let us share the screen, chat or send files. */
  may(what: 'screenShare' | 'chat' | 'files'): boolean {
    return permitted(this.policy, this.role ?? 'participant', what);
  }

  /** Everyone with a hand up (ourselves included), first raised first. */
  get hands(): RaisedHand[] {
    const self = this.context.self();
    const people = [...(self ? [self] : []), ...this.context.participants().values()];
    return people
      .flatMap(({ id, displayName, handRaisedAt }) => (handRaisedAt === null ? [] : [{ peerId: id, displayName, raisedAt: handRaisedAt }]))
      .sort((a, b) => a.raisedAt - b.raisedAt)
      .map((hand, index) => ({ ...hand, position: index + 1 }));
  }

  /** Where someone's hand is in the queue (1 first), or null when it is down. */
  handPosition(peerId: string): number | null {
    return this.hands.find((hand) => hand.peerId === peerId)?.position ?? null;
  }

  /** What we may do to another participant now (empty for ourselves, and for a participant's view). */
  actionsOn(peerId: string): ParticipantAction[] {
    const role = this.role;
    const target = this.context.participants().get(peerId);
    if (!role || !target) return [];
    const { mic, camera, screen } = target.tracks;
    return actionsOn(role, {
      role: target.role,
      handRaisedAt: target.handRaisedAt,
      micOn: mic !== undefined && !mic.paused,
      cameraOn: camera !== undefined && !camera.paused,
      sharingScreen: screen !== undefined,
    });
  }

  /** Does one of `actionsOn`'s actions. */
  perform(peerId: string, action: ParticipantAction): Promise<unknown> {
    switch (action) {
      case 'muteMic':
        return this.muteParticipant(peerId, 'mic');
      case 'stopCamera':
        return this.muteParticipant(peerId, 'camera');
      case 'stopScreen':
        return this.muteParticipant(peerId, 'screen');
      case 'askToUnmute':
        return this.askToUnmute(peerId);
      case 'lowerHand':
        return this.lowerHand(peerId);
      case 'makeModerator':
        return this.setRole(peerId, 'moderator');
      case 'revokeModerator':
        return this.setRole(peerId, 'participant');
      case 'remove':
        return this.removeParticipant(peerId, false);
      case 'ban':
        return this.removeParticipant(peerId, true);
    }
  }

  async muteParticipant(peerId: string, source: RequestOf<'muteParticipant'>['source']): Promise<void> {
    await this.request('muteParticipant', { peerId, source });
  }

  /** Every microphone but ours; resolves with how many were on. */
  async muteAll(): Promise<number> {
    return (await this.request('muteAll', {})).muted;
  }

  async askToUnmute(peerId: string): Promise<void> {
    await this.request('askToUnmute', { peerId });
  }

  /** With `ban`, they cannot come back (by name or token) until the room closes. */
  async removeParticipant(peerId: string, ban = false): Promise<void> {
    await this.request('removeParticipant', { peerId, ban });
  }

  /** Hosts only. */
  async setRole(peerId: string, role: RequestOf<'setRole'>['role']): Promise<void> {
    await this.request('setRole', { peerId, role });
  }

  /** Changes some of the rules (absent ones stay); resolves with all of them. */
  async setPolicy(patch: RequestOf<'setPolicy'>): Promise<RoomPolicy> {
    return (await this.request('setPolicy', patch)).policy;
  }

  /** Lets in or turns away these knocks (everyone waiting without ids); resolves with how many were answered. */
  async answerKnocks(admit: boolean, knockIds?: string[]): Promise<number> {
    return (await this.request('answerKnocks', knockIds ? { admit, knockIds } : { admit })).answered;
  }

  /** Ends the meeting for everyone (ourselves included). */
  async endMeeting(): Promise<void> {
    await this.request('endMeeting', {});
  }

  async raiseHand(): Promise<void> {
    await this.request('raiseHand', {});
  }

  /** Our own hand, or (hosts and moderators) someone else's. */
  async lowerHand(peerId?: string): Promise<void> {
    await this.request('lowerHand', peerId === undefined ? {} : { peerId });
  }

  async lowerAllHands(): Promise<void> {
    await this.request('lowerAllHands', {});
  }

  async react(reaction: Reaction): Promise<void> {
    await this.request('react', { reaction });
  }

  /** A join answer: the room's rules as they are now. */
  joined(policy: RoomPolicy): void {
    this.policy = policy;
    this.context.emit('policyChanged', policy);
  }

  /** The call is over: nobody waits for us to answer any more. */
  clear(): void {
    this.setKnocks([]);
    this.recording.clear();
  }

  private request<K extends RequestName>(name: K, payload: RequestOf<K>): Promise<Responses[K]> {
    return this.context.signaling.request(name, payload);
  }

  private updateSelf(info: ParticipantInfo): void {
    const self = this.context.self();
    if (!self || self.id !== info.id) return;
    self.role = info.role;
    self.handRaisedAt = info.handRaisedAt;
    // No longer a host or moderator: the lobby is not ours to answer (no more `lobby` notifications).
    if (!moderates(info.role)) this.setKnocks([]);
    this.context.emit('selfUpdated', self);
  }

  private setKnocks(knocks: Knock[]): void {
    if (knocks.length === 0 && this.knocks.length === 0) return;
    this.knocks = knocks;
    this.context.emit('lobbyChanged', knocks);
  }
}
