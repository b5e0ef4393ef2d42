import type { JoinResponse, MediaSource, ParticipantInfo } from '../../../shared/protocol.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import { DataChannels } from './data/DataChannels.js';
import { Diagnostics } from './Diagnostics.js';
import { buildDiagnosticsBundle, type DiagnosticsBundle } from './diagnosticsBundle.js';
import { toProtocolError, type ConferenceEvents } from './events.js';
import { LinkQuality } from './LinkQuality.js';
import { LocalMedia } from './LocalMedia.js';
import { MediaTransports } from './MediaTransports.js';
import { Meeting } from './Meeting.js';
import type { ConferenceOptions } from './options.js';
import type { QualityMode } from './qualityMode.js';
import type { VideoDemand } from './reception.js';
import { RemoteMedia } from './RemoteMedia.js';
import { Session } from './Session.js';
import { Signaling } from './Signaling.js';
import { collectStats } from './stats.js';
import type { CallProblem, ConferenceSnapshot, ConferenceStats, ConnectionState, DeviceSource, Farewell, LocalSource, RemoteParticipant } from './types.js';

export type { ConferenceEvents } from './events.js';
export type { ConferenceOptions } from './options.js';

/**
 * The conference as a UI-free object: join a room, publish camera, microphone and screen, and
 * receive everyone else. Views subscribe to its events and call its methods; nothing here
 * touches the DOM. The work is done by its parts: Session (join, the lobby, leave, reconnect,
 * resume), LocalMedia (what we send), RemoteMedia (what we receive), Meeting (roles, rules,
 * moderation, hands, reactions, recording) and DataChannels (chat, files, whiteboard), over one Signaling
 * channel and one pair of MediaTransports.
 */
export class ConferenceClient extends TypedEmitter<ConferenceEvents> {
  /** Chat, files, whiteboard and fast messages, over SCTP data channels through the SFU. */
  readonly data: DataChannels;
  /** Roles, the room's rules, the lobby, moderation, hands and reactions, recording and live streaming. */
  readonly meeting: Meeting;
  /** Everyone's connection quality, and our own link's details. */
  readonly links: LinkQuality;
  /** This session's timeline and the last minute of link statistics (the connection panel). */
  readonly diagnostics: Diagnostics;
  private readonly session: Session;
  private readonly localMedia: LocalMedia;
  private readonly remote: RemoteMedia;
  private readonly transports: MediaTransports;
  private qualityMode: QualityMode = 'auto';

  constructor(readonly options: ConferenceOptions) {
    super();
    const serverUrl = options.serverUrl ?? location.origin;
    const signaling = new Signaling(serverUrl);
    const emit = this.emit.bind(this);
    const report = (error: unknown): void => this.emit('error', toProtocolError(error));
    this.transports = new MediaTransports(signaling, options.relayOnly ?? false, report);
    const { transports } = this;
    this.data = new DataChannels(signaling, () => this.self?.id ?? null, report);
    this.localMedia = new LocalMedia(
      { signaling, transports, isJoined: () => this.connectionState === 'joined', emit, report },
      { mic: options.micDeviceId, camera: options.cameraDeviceId },
    );
    this.remote = new RemoteMedia({ signaling, transports, selfId: () => this.self?.id ?? null, emit, report, adaptiveVideo: options.adaptiveVideo ?? true });
    this.meeting = new Meeting({ signaling, local: this.localMedia, self: () => this.self, participants: () => this.remote.participants, emit, report });
    this.links = new LinkQuality(signaling, emit);
    this.on('participantLeft', (participant) => this.links.forget(participant.id));
    this.diagnostics = new Diagnostics(signaling, transports);
    this.on('connectionState', (state) => {
      this.diagnostics.sessionState(state);
      if (state === 'joined') this.diagnostics.start();
      else if (state === 'left') this.diagnostics.stop();
    });
    const parts = { signaling, transports, local: this.localMedia, remote: this.remote, data: this.data, meeting: this.meeting, emit, report };
    this.session = new Session(parts, options);
  }

  get connectionState(): ConnectionState {
    return this.session.state;
  }

  get roomId(): string {
    return this.options.roomId;
  }

  get self(): ParticipantInfo | null {
    return this.session.self;
  }

  /** While we wait in a locked room's lobby: whether anyone who can let us in is in the room. */
  get waiting(): { moderatorsPresent: boolean } | null {
    return this.session.waiting;
  }

  /** Why the call ended, when we were removed or not let in (null otherwise). */
  get farewell(): Farewell | null {
    return this.session.farewell;
  }

  /** Why we are reconnecting, or why the call ended on a failure, as data for views to word (null otherwise). */
  get problem(): CallProblem | null {
    return this.session.problem;
  }

  /** Everyone else in the room, by participant id. */
  get participants(): ReadonlyMap<string, RemoteParticipant> {
    return this.remote.participants;
  }

  /** What we send, by source. */
  get local(): Readonly<Record<MediaSource, LocalSource>> {
    return this.localMedia.sources;
  }

  get activeSpeakerId(): string | null {
    return this.remote.activeSpeakerId;
  }

  join(): Promise<JoinResponse> {
    return this.session.join();
  }

  leave(): Promise<void> {
    return this.session.leave();
  }

  /** The page is going away: leave in a way that survives the page (see Session.leaveOnUnload). */
  leaveOnUnload(): void {
    this.session.leaveOnUnload();
  }

  setMic(on: boolean): Promise<void> {
    return this.localMedia.set('mic', on);
  }

  setCam(on: boolean): Promise<void> {
    return this.localMedia.set('camera', on);
  }

  shareScreen(): Promise<void> {
    return this.localMedia.shareScreen();
  }

  stopScreen(): Promise<void> {
    return this.localMedia.stopScreen();
  }

  /** The quality setting (qualityMode.ts): what we send and what we ask to receive. */
  get quality(): QualityMode {
    return this.qualityMode;
  }

  async setQuality(mode: QualityMode): Promise<void> {
    this.qualityMode = mode;
    this.remote.setQuality(mode);
    await this.localMedia.setQuality(mode);
  }

  /** Switches camera or microphone without renegotiation (replaceTrack). */
  selectDevice(source: DeviceSource, deviceId: string): Promise<void> {
    return this.localMedia.selectDevice(source, deviceId);
  }

  /**
   * How the view shows a participant's camera or screen (null: not at all). The server is asked
   * for the layer that fits and to pause what nobody can see; audio is never affected.
   */
  setVideoDemand(peerId: string, source: 'camera' | 'screen', demand: VideoDemand | null): void {
    this.remote.setDemand(peerId, source, demand);
  }

  async stats(): Promise<ConferenceStats> {
    return collectStats(
      this.remote.received().map(({ consumer, info, reception }) => ({ consumer, peerId: info.peerId, source: info.source, reception })),
      this.localMedia.producers(),
      this.transports.open(),
    );
  }

  /** Restarts ICE on both transports: media reconnects over whatever path works now, nothing is renegotiated. */
  restartIce(): Promise<void> {
    return this.transports.restartAll();
  }

  /** Everything an administrator needs to see what went wrong: timeline, statistics, browser and devices. */
  async diagnosticsBundle(): Promise<DiagnosticsBundle> {
    return buildDiagnosticsBundle(this, await this.stats().catch(() => null));
  }

  /** A plain, serialisable picture of the conference (for automation and debugging). */
  snapshot(): ConferenceSnapshot {
    const { meeting, self } = this;
    return {
      connection: this.connectionState,
      room: this.options.roomId,
      self: self && { ...self },
      participants: [...this.participants.values()].map((participant) => ({
        id: participant.id,
        displayName: participant.displayName,
        role: participant.role,
        handRaisedAt: participant.handRaisedAt,
        reconnecting: participant.reconnecting,
        tracks: Object.values(participant.tracks).map((track) => ({ source: track.source, kind: track.kind, paused: track.paused })),
      })),
      producers: this.localMedia.producers().map(({ producer, source }) => ({ id: producer.id, source, kind: producer.kind, paused: producer.paused })),
      consumers: this.remote.received().map((entry) => ({
        id: entry.consumer.id,
        peerId: entry.info.peerId,
        source: entry.info.source,
        kind: entry.consumer.kind,
        paused: this.remote.isPaused(entry),
      })),
      activeSpeaker: this.activeSpeakerId,
      role: meeting.role,
      hand: self ? meeting.handPosition(self.id) : null,
      hands: meeting.hands,
      policy: self ? { ...meeting.policy } : null,
      knocks: meeting.knocks.map((knock) => ({ ...knock })),
      waiting: this.waiting,
      quality: this.qualityMode,
      qualities: this.links.all(),
      link: this.links.own,
      recording: structuredClone(meeting.recording.status),
    };
  }
}
