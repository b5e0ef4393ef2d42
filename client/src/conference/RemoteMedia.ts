import type { types } from 'mediasoup-client';
import { ConclaveError } from '../../../shared/errors.js';
import type { ConsumerInfo, ParticipantInfo, RequestOf } from '../../../shared/protocol.js';
import type { Emit, Report } from './events.js';
import { markJoin } from './joinMarks.js';
import type { MediaTransports } from './MediaTransports.js';
import type { QualityMode } from './qualityMode.js';
import { Reception, type ReceptionState, type VideoDemand } from './reception.js';
import type { Signaling } from './Signaling.js';
import type { RemoteParticipant } from './types.js';

export interface RemoteMediaContext {
  signaling: Signaling;
  transports: MediaTransports;
  /** Our own id, so we never list ourselves (null before joining). */
  selfId: () => string | null;
  emit: Emit;
  report: Report;
  /** Off: every consumer gets everything (for comparison runs). */
  adaptiveVideo: boolean;
}

interface ConsumerEntry {
  consumer: types.Consumer;
  info: ConsumerInfo;
}

/** One received track, for statistics and snapshots. */
export interface Received extends ConsumerEntry {
  reception: ReceptionState;
}

/**
 * Everyone else: the participants the server announces, the consumers of their tracks (created
 * paused by the server and resumed once we have them), who is speaking, and — through Reception —
 * how much of each video we ask for.
 */
export class RemoteMedia {
  readonly participants = new Map<string, RemoteParticipant>();
  activeSpeakerId: string | null = null;
  private readonly consumers = new Map<string, ConsumerEntry>();
  /** Announced, not yet handed to the transport (see announce). */
  private announced: ConsumerInfo[] = [];
  private announceTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly reception: Reception;

  constructor(private readonly context: RemoteMediaContext) {
    this.reception = new Reception((request) => this.sendPreferences(request), context.adaptiveVideo);
    const { signaling, emit } = context;
    signaling.on('participantJoined', (info) => this.add(info));
    signaling.on('participantLeft', ({ peerId }) => this.remove(peerId));
    signaling.on('newConsumer', (info) => this.announce(info));
    signaling.on('consumerClosed', ({ consumerId }) => this.dropConsumer(consumerId));
    signaling.on('consumerPaused', ({ consumerId }) => this.setPaused(consumerId, true));
    signaling.on('consumerResumed', ({ consumerId }) => this.setPaused(consumerId, false));
    signaling.on('consumerLayers', (report) => this.reception.onLayers(report));
    signaling.on('activeSpeaker', ({ peerId }) => {
      this.activeSpeakerId = peerId;
      emit('activeSpeaker', peerId);
    });
    // Their role or raised hand changed (our own is the Meeting's).
    signaling.on('participantUpdated', ({ id, role, handRaisedAt }) => {
      const participant = this.participants.get(id);
      if (!participant) return;
      Object.assign(participant, { role, handRaisedAt });
      emit('participantUpdated', participant);
    });
    signaling.on('participantConnection', ({ peerId, reconnecting }) => {
      const participant = this.participants.get(peerId);
      if (!participant) return;
      participant.reconnecting = reconnecting;
      emit('participantUpdated', participant);
    });
  }

  add(info: ParticipantInfo): void {
    if (info.id === this.context.selfId() || this.participants.has(info.id)) return;
    const participant: RemoteParticipant = { ...info, tracks: {} };
    this.participants.set(info.id, participant);
    this.context.emit('participantJoined', participant);
  }

  /** The user's quality setting: what each video asks the server for. */
  setQuality(mode: QualityMode): void {
    this.reception.setQuality(mode);
  }

  /** How the view shows a peer's camera or screen (null: not at all). */
  setDemand(peerId: string, source: 'camera' | 'screen', demand: VideoDemand | null): void {
    this.reception.setDemand(peerId, source, demand);
  }

  /** Closes every consumer (their transport is going); the participants stay. */
  dropConsumers(): void {
    this.announced = [];
    for (const consumerId of [...this.consumers.keys()]) this.dropConsumer(consumerId);
  }

  /** Forgets everyone (our place in the room is gone; a fresh join brings them back). */
  removeAll(): void {
    for (const peerId of [...this.participants.keys()]) this.remove(peerId);
  }

  /** The end of the call: nothing is received any more. */
  clear(): void {
    this.announced = [];
    this.consumers.clear();
    this.reception.clear();
    this.removeAll();
  }

  received(): Received[] {
    return [...this.consumers.values()].map((entry) => ({ ...entry, reception: this.reception.state(entry.consumer.id) }));
  }

  /** Paused by the server for us, or by its sender. */
  isPaused({ consumer, info }: ConsumerEntry): boolean {
    return consumer.paused || (this.participants.get(info.peerId)?.tracks[info.source]?.paused ?? false);
  }

  private remove(peerId: string): void {
    const participant = this.participants.get(peerId);
    if (!participant) return;
    this.announced = this.announced.filter((info) => info.peerId !== peerId);
    for (const [consumerId, entry] of this.consumers) {
      if (entry.info.peerId === peerId) {
        entry.consumer.close();
        this.consumers.delete(consumerId);
        this.reception.detach(consumerId);
      }
    }
    this.participants.delete(peerId);
    if (this.activeSpeakerId === peerId) this.activeSpeakerId = null;
    this.context.emit('participantLeft', participant);
  }

  /**
   * A newcomer is announced everyone's tracks at once, one message each. Taken together (what
   * arrived before the next timer turn), they reach mediasoup-client in one go, which makes them
   * in one SDP negotiation instead of the first alone and the rest after it.
   */
  private announce(info: ConsumerInfo): void {
    this.announced.push(info);
    this.announceTimer ??= setTimeout(() => {
      this.announceTimer = null;
      for (const announced of this.announced.splice(0)) void this.consume(announced);
    }, 0);
  }

  private async consume(info: ConsumerInfo): Promise<void> {
    await this.context.transports.ready;
    const transport = this.context.transports.recv;
    if (!transport || transport.closed) return;
    try {
      const consumer = await transport.consume({
        id: info.id,
        producerId: info.producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters,
        appData: { peerId: info.peerId, source: info.source },
      });
      const mark = { kind: info.kind, source: info.source, peerId: info.peerId };
      markJoin('consumerReady', mark);
      this.consumers.set(consumer.id, { consumer, info });
      const participant = this.participants.get(info.peerId);
      if (participant) {
        participant.tracks[info.source] = { consumerId: consumer.id, source: info.source, kind: info.kind, track: consumer.track, paused: info.producerPaused };
        this.context.emit('participantUpdated', participant);
      }
      // Not awaited: the preferences go out first on the same socket, and the server keeps a
      // consumer paused while either request says so.
      this.reception.attach(consumer, info.peerId, info.source);
      await this.context.signaling.request('resumeConsumer', { consumerId: consumer.id });
      markJoin('consumerResumed', mark);
    } catch (error) {
      this.context.report(error);
    }
  }

  private dropConsumer(consumerId: string): void {
    this.announced = this.announced.filter((info) => info.id !== consumerId);
    const entry = this.consumers.get(consumerId);
    if (!entry) return;
    entry.consumer.close();
    this.consumers.delete(consumerId);
    this.reception.detach(consumerId);
    const participant = this.participants.get(entry.info.peerId);
    if (participant?.tracks[entry.info.source]?.consumerId === consumerId) {
      delete participant.tracks[entry.info.source];
      this.context.emit('participantUpdated', participant);
    }
  }

  private setPaused(consumerId: string, paused: boolean): void {
    const entry = this.consumers.get(consumerId);
    if (!entry) return;
    const participant = this.participants.get(entry.info.peerId);
    const track = participant?.tracks[entry.info.source];
    if (!participant || !track || track.consumerId !== consumerId) return;
    track.paused = paused;
    this.context.emit('participantUpdated', participant);
  }

  /** A consumer that closed meanwhile needs no preferences; anything else is worth showing. */
  private async sendPreferences(request: RequestOf<'setConsumerPreferences'>): Promise<void> {
    try {
      await this.context.signaling.request('setConsumerPreferences', request);
    } catch (error) {
      if (!(error instanceof ConclaveError && error.code === 'NOT_FOUND')) this.context.report(error);
    }
  }
}
