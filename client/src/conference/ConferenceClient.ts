import { Device, type types } from 'mediasoup-client';
import { ConclaveError, type ProtocolError } from '../../../shared/errors.js';
import { LEAVE_BEACON_PATH, type ConsumerInfo, type JoinResponse, type LeaveBeacon, MediaSource, type ParticipantInfo, type RequestOf, type TransportInfo } from '../../../shared/protocol.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import { CAMERA_ENCODINGS, getCameraTrack, getMicTrack, getScreenTrack, MediaAccessError, SCREEN_ENCODINGS } from './media.js';
import { DataChannels } from './data/DataChannels.js';
import { Reception, type VideoDemand } from './reception.js';
import { Signaling } from './Signaling.js';
import { collectStats } from './stats.js';
import type { ConferenceSnapshot, ConferenceStats, ConnectionState, DeviceSource, LocalSource, RemoteParticipant } from './types.js';

export interface ConferenceOptions {
  /** Signalling server; defaults to the page's origin. */
  serverUrl?: string;
  roomId: string;
  displayName: string;
  /** Publish the microphone / camera on join (each can fail on its own without stopping the join). */
  mic: boolean;
  cam: boolean;
  micDeviceId?: string;
  cameraDeviceId?: string;
  /** Force media through TURN (iceTransportPolicy 'relay'). */
  relayOnly?: boolean;
  /** Join token, when the server requires one. */
  token?: string;
  /**
   * Ask the server for only what the view shows (layers sized to each tile, hidden tiles paused);
   * default on. Off receives every video at full quality, for comparison.
   */
  adaptiveVideo?: boolean;
}

export type ConferenceEvents = {
  connectionState: [state: ConnectionState, reason?: string];
  participantJoined: [participant: RemoteParticipant];
  participantLeft: [participant: RemoteParticipant];
  /** Tracks were added or removed, or a sender muted/unmuted one. */
  participantUpdated: [participant: RemoteParticipant];
  localMediaChanged: [source: MediaSource];
  activeSpeaker: [peerId: string | null];
  /** Camera, microphone or screen could not be used; the call goes on without it. */
  mediaError: [error: MediaAccessError];
  /** A request failed in the background (e.g. a consumer could not resume). */
  error: [error: ProtocolError];
};

interface ConsumerEntry {
  consumer: types.Consumer;
  info: ConsumerInfo;
}

/**
 * The conference as a UI-free object: join a room, publish camera, microphone and screen, and
 * receive everyone else. Views subscribe to its events and call its methods; nothing here
 * touches the DOM.
 */
export class ConferenceClient extends TypedEmitter<ConferenceEvents> {
  readonly participants = new Map<string, RemoteParticipant>();
  readonly local: Record<MediaSource, LocalSource> = {
    mic: { track: null, producer: null, enabled: false },
    camera: { track: null, producer: null, enabled: false },
    screen: { track: null, producer: null, enabled: false },
  };
  self: ParticipantInfo | null = null;
  activeSpeakerId: string | null = null;
  private connection: ConnectionState = 'idle';
  private readonly signaling: Signaling;
  private readonly serverUrl: string;
  private device: Device | null = null;
  private iceServers: RTCIceServer[] = [];
  /** Proof for `resume` after a dropped connection. */
  private resumeToken: string | null = null;
  private shutdownNotice: string | null = null;
  private sendTransport: types.Transport | null = null;
  private recvTransport: types.Transport | null = null;
  private readonly consumers = new Map<string, ConsumerEntry>();
  private transportsReady: Promise<void>;
  private markTransportsReady: () => void = () => undefined;
  private readonly deviceIds: { mic?: string; camera?: string };
  private readonly reception: Reception;
  /** Chat, files, whiteboard and fast messages, over SCTP data channels through the SFU. */
  readonly data: DataChannels;

  constructor(readonly options: ConferenceOptions) {
    super();
    this.serverUrl = options.serverUrl ?? location.origin;
    this.signaling = new Signaling(this.serverUrl);
    this.data = new DataChannels(this.signaling, () => this.self?.id ?? null, (error) => this.report(error));
    this.deviceIds = { mic: options.micDeviceId, camera: options.cameraDeviceId };
    this.transportsReady = new Promise((resolve) => (this.markTransportsReady = resolve));
    this.reception = new Reception((request) => this.sendPreferences(request), options.adaptiveVideo ?? true);
    this.listen();
  }

  get connectionState(): ConnectionState {
    return this.connection;
  }

  get roomId(): string {
    return this.options.roomId;
  }

  /**
   * Connects, joins and publishes. Media permission prompts run in parallel with the connection so
   * they do not add to the time until the first remote frame.
   */
  async join(): Promise<JoinResponse> {
    this.setConnection('connecting');
    const welcome = this.signaling.open();
    const localTracks = this.acquireInitialTracks();
    try {
      const { routerRtpCapabilities } = await welcome;
      const device = await Device.factory();
      await device.load({ routerRtpCapabilities });
      this.device = device;
      const joined = await this.enterRoom(device);
      await localTracks;
      await this.publishAll();
      return joined;
    } catch (error) {
      this.teardown();
      this.setConnection('left', error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  async setMic(on: boolean): Promise<void> {
    await this.setSource('mic', on);
  }

  async setCam(on: boolean): Promise<void> {
    await this.setSource('camera', on);
  }

  async shareScreen(): Promise<void> {
    if (this.local.screen.producer) return;
    const track = await this.guard('screen', () => getScreenTrack());
    if (!track) return;
    this.local.screen = { track, producer: null, enabled: true };
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => void this.stopScreen());
    this.emit('localMediaChanged', 'screen');
    await this.publish('screen', track);
  }

  async stopScreen(): Promise<void> {
    const { producer, track } = this.local.screen;
    this.local.screen = { track: null, producer: null, enabled: false };
    track?.stop();
    if (producer && !producer.closed) {
      producer.close();
      await this.signaling.request('closeProducer', { producerId: producer.id }).catch((error: unknown) => this.report(error));
    }
    this.emit('localMediaChanged', 'screen');
  }

  /** Switches camera or microphone without renegotiation (replaceTrack). */
  async selectDevice(source: DeviceSource, deviceId: string): Promise<void> {
    this.deviceIds[source] = deviceId;
    const current = this.local[source];
    if (!current.enabled || !current.track) return;
    const track = await this.guard(source, () =>
      source === 'mic' ? getMicTrack(deviceId) : getCameraTrack(deviceId),
    );
    if (!track) return;
    await current.producer?.replaceTrack({ track });
    current.track.stop();
    current.track = track;
    this.emit('localMediaChanged', source);
  }

  /**
   * How the view shows a participant's camera or screen (null: not at all). The server is asked
   * for the layer that fits and to pause what nobody can see; audio is never affected.
   */
  setVideoDemand(peerId: string, source: 'camera' | 'screen', demand: VideoDemand | null): void {
    this.reception.setDemand(peerId, source, demand);
  }

  /** Leaves the room, releases camera and microphone, and closes the connection. */
  /**
   * The page is going away (tab closed, navigated off). A socket message sent now may never leave
   * a page being torn down, so a beacon, which the browser delivers after the page is gone, says
   * it too; the server counts whichever arrives first. Without either, our place would wait out
   * the reconnect grace period and everyone would see a frozen tile.
   */
  leaveOnUnload(): void {
    if (this.connection !== 'left' && this.self && this.resumeToken && typeof navigator.sendBeacon === 'function') {
      const beacon: LeaveBeacon = { peerId: this.self.id, resumeToken: this.resumeToken };
      navigator.sendBeacon(new URL(LEAVE_BEACON_PATH, this.serverUrl).href, JSON.stringify(beacon));
    }
    void this.leave();
  }

  async leave(): Promise<void> {
    if (this.connection === 'left') return;
    if (this.connection === 'joined') {
      await Promise.race([
        this.signaling.request('leave', {}, { immediate: true }).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1000)),
      ]);
    }
    this.teardown();
    this.setConnection('left');
  }

  async stats(): Promise<ConferenceStats> {
    return collectStats(
      [...this.consumers.values()].map(({ consumer, info }) => ({
        consumer,
        peerId: info.peerId,
        source: info.source,
        reception: this.reception.state(consumer.id),
      })),
      MediaSource.options.flatMap((source) => {
        const producer = this.local[source].producer;
        return producer && !producer.closed ? [{ producer, source }] : [];
      }),
      (
        [
          ['send', this.sendTransport],
          ['recv', this.recvTransport],
        ] as const
      ).flatMap(([direction, transport]) => (transport && !transport.closed ? [{ transport, direction }] : [])),
    );
  }

  snapshot(): ConferenceSnapshot {
    return {
      connection: this.connection,
      room: this.options.roomId,
      self: this.self,
      participants: [...this.participants.values()].map((participant) => ({
        id: participant.id,
        displayName: participant.displayName,
        tracks: Object.values(participant.tracks).map((track) => ({ source: track.source, kind: track.kind, paused: track.paused })),
      })),
      producers: MediaSource.options.flatMap((source) => {
        const producer = this.local[source].producer;
        return producer && !producer.closed ? [{ id: producer.id, source, kind: producer.kind, paused: producer.paused }] : [];
      }),
      consumers: [...this.consumers.values()].map(({ consumer, info }) => ({
        id: consumer.id,
        peerId: info.peerId,
        source: info.source,
        kind: consumer.kind,
        paused: consumer.paused || (this.participants.get(info.peerId)?.tracks[info.source]?.paused ?? false),
      })),
      activeSpeaker: this.activeSpeakerId,
    };
  }

  // ---- internals ----

  private listen(): void {
    const { signaling } = this;
    signaling.on('participantJoined', (info) => this.addParticipant(info));
    signaling.on('participantLeft', ({ peerId }) => this.removeParticipant(peerId));
    signaling.on('newConsumer', (info) => void this.consume(info));
    signaling.on('consumerClosed', ({ consumerId }) => this.dropConsumer(consumerId));
    signaling.on('consumerPaused', ({ consumerId }) => this.setRemotePaused(consumerId, true));
    signaling.on('consumerResumed', ({ consumerId }) => this.setRemotePaused(consumerId, false));
    signaling.on('consumerLayers', (report) => this.reception.onLayers(report));
    signaling.on('activeSpeaker', ({ peerId }) => {
      this.activeSpeakerId = peerId;
      this.emit('activeSpeaker', peerId);
    });
    signaling.on('participantConnection', ({ peerId, reconnecting }) => {
      const participant = this.participants.get(peerId);
      if (!participant) return;
      participant.reconnecting = reconnecting;
      this.emit('participantUpdated', participant);
    });
    signaling.on('mediaReset', ({ sendTransport, recvTransport }) => void this.resetMedia(sendTransport, recvTransport));
    signaling.on('serverShutdown', ({ message }) => (this.shutdownNotice = message));
    signaling.onDisconnect(({ reason, retrying }) => {
      if (this.connection !== 'joined') return;
      signaling.hold();
      this.setConnection('reconnecting', this.shutdownNotice ?? `Connection lost (${reason}); reconnecting…`);
      if (!retrying) setTimeout(() => this.connection === 'reconnecting' && signaling.connect(), 1000);
    });
    // The server greets every new connection: that is the moment to take our place back.
    signaling.on('welcome', () => {
      if (this.connection === 'reconnecting') void this.recover();
    });
  }

  /** Joins with the loaded device; shared by the first join and a rejoin after a lost place. */
  private async enterRoom(device: Device): Promise<JoinResponse> {
    const joined = await this.signaling.request(
      'join',
      {
        roomId: this.options.roomId,
        displayName: this.options.displayName,
        rtpCapabilities: device.rtpCapabilities,
        dataChannels: true,
        ...(this.options.token ? { token: this.options.token } : {}),
      },
      { immediate: true },
    );
    this.self = joined.self;
    this.resumeToken = joined.resumeToken;
    this.iceServers = joined.iceServers;
    this.setTransports(device, joined.sendTransport, joined.recvTransport);
    this.signaling.release();
    this.setConnection('joined');
    for (const participant of joined.participants) this.addParticipant(participant);
    return joined;
  }

  /**
   * Back online: take our place back (queued notifications follow), or, if the grace period
   * passed, join again as a new participant with the same tracks. Media transports whose ICE
   * broke meanwhile restart ICE.
   */
  private async recover(): Promise<void> {
    const device = this.device;
    const self = this.self;
    if (!device || !self || !this.resumeToken) return;
    try {
      await this.signaling.request('resume', { peerId: self.id, resumeToken: this.resumeToken }, { immediate: true });
      this.signaling.release();
      this.shutdownNotice = null;
      this.setConnection('joined');
      this.data.resync();
      for (const transport of [this.sendTransport, this.recvTransport]) {
        if (transport && (transport.connectionState === 'failed' || transport.connectionState === 'disconnected')) void this.restartIce(transport);
      }
    } catch (error) {
      if (!(error instanceof ConclaveError) || error.code !== 'RESUME_FAILED') {
        this.report(error);
        this.signaling.reconnect();
        return;
      }
      this.dropRoomState();
      try {
        await this.enterRoom(device);
        this.shutdownNotice = null;
        await this.publishAll();
      } catch (rejoinError) {
        this.report(rejoinError);
      }
    }
  }

  /** The server moved the room to another worker: new transports, publish again. */
  private async resetMedia(sendTransport: TransportInfo, recvTransport: TransportInfo): Promise<void> {
    if (!this.device) return;
    this.dropMedia();
    this.setTransports(this.device, sendTransport, recvTransport);
    await this.publishAll();
  }

  private async restartIce(transport: types.Transport): Promise<void> {
    try {
      const { iceParameters } = await this.signaling.request('restartIce', { transportId: transport.id });
      if (!transport.closed) await transport.restartIce({ iceParameters });
    } catch (error) {
      this.report(error);
    }
  }

  private setTransports(device: Device, send: TransportInfo, recv: TransportInfo): void {
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.sendTransport = this.createSendTransport(device, send, this.iceServers);
    this.recvTransport = this.createRecvTransport(device, recv, this.iceServers);
    this.data.attach(this.sendTransport, this.recvTransport);
    this.markTransportsReady();
  }

  /** Publishes every local track we have (muted ones paused), e.g. after joining or a media reset. */
  private async publishAll(): Promise<void> {
    await Promise.all(
      MediaSource.options.map(async (source) => {
        const { track, producer, enabled } = this.local[source];
        if (!track || (producer && !producer.closed) || this.connection !== 'joined') return;
        await this.publish(source, track, !enabled);
      }),
    );
    this.data.open();
  }

  /** Forgets everything received and the transports, keeping our own tracks. */
  private dropMedia(): void {
    for (const source of MediaSource.options) this.local[source].producer = null;
    for (const consumerId of [...this.consumers.keys()]) this.dropConsumer(consumerId);
    this.data.detach();
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.sendTransport = null;
    this.recvTransport = null;
  }

  /** Our place in the room is gone: forget the others too (a fresh join brings them back). */
  private dropRoomState(): void {
    this.dropMedia();
    for (const peerId of [...this.participants.keys()]) this.removeParticipant(peerId);
    this.data.reset();
    this.self = null;
    this.resumeToken = null;
  }

  private setConnection(state: ConnectionState, reason?: string): void {
    this.connection = state;
    this.emit('connectionState', state, reason);
  }

  /** Asks for camera and microphone (as requested) while the connection is being set up. */
  private async acquireInitialTracks(): Promise<void> {
    const wanted: DeviceSource[] = [];
    if (this.options.mic) wanted.push('mic');
    if (this.options.cam) wanted.push('camera');
    await Promise.all(
      wanted.map(async (source) => {
        const track = await this.guard(source, () =>
          source === 'mic' ? getMicTrack(this.deviceIds.mic) : getCameraTrack(this.deviceIds.camera),
        );
        if (!track) return;
        this.local[source] = { track, producer: null, enabled: true };
        this.emit('localMediaChanged', source);
      }),
    );
  }

  private async setSource(source: DeviceSource, on: boolean): Promise<void> {
    const current = this.local[source];
    if (current.enabled === on && (on ? current.track : true)) return;
    const { producer } = current;
    if (!on) {
      current.enabled = false;
      if (producer && !producer.closed) {
        producer.pause();
        await this.signaling.request('setProducerPaused', { producerId: producer.id, paused: true }).catch((error: unknown) => this.report(error));
      }
      if (source === 'camera') {
        // Release the camera so its light goes off; the muted microphone stays ready to unmute.
        await producer?.replaceTrack({ track: null });
        current.track?.stop();
        current.track = null;
      }
      this.emit('localMediaChanged', source);
      return;
    }
    if (!current.track) {
      const track = await this.guard(source, () =>
        source === 'mic' ? getMicTrack(this.deviceIds.mic) : getCameraTrack(this.deviceIds.camera),
      );
      if (!track) return;
      current.track = track;
      if (producer && !producer.closed) await producer.replaceTrack({ track });
    }
    current.enabled = true;
    this.emit('localMediaChanged', source);
    if (producer && !producer.closed) {
      producer.resume();
      await this.signaling.request('setProducerPaused', { producerId: producer.id, paused: false }).catch((error: unknown) => this.report(error));
    } else if (this.connection === 'joined') {
      await this.publish(source, current.track);
    }
  }

  private async publish(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
    if (!this.sendTransport) return;
    try {
      const producer = await this.sendTransport.produce({
        track,
        stopTracks: false,
        appData: { source, paused },
        ...(source === 'mic' ? { codecOptions: { opusDtx: true, opusFec: true } } : {}),
        ...(source === 'camera' ? { encodings: CAMERA_ENCODINGS } : source === 'screen' ? { encodings: SCREEN_ENCODINGS } : {}),
      });
      // The user may have switched the source off or stopped sharing while it was being set up.
      if (this.local[source].track !== track) {
        producer.close();
        await this.signaling.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
        return;
      }
      if (paused) producer.pause();
      this.local[source].producer = producer;
      this.emit('localMediaChanged', source);
    } catch (error) {
      this.report(error);
    }
  }

  private createSendTransport(device: Device, info: TransportInfo, iceServers: RTCIceServer[]): types.Transport {
    const transport = device.createSendTransport({ ...info, iceServers, iceTransportPolicy: this.options.relayOnly ? 'relay' : 'all' });
    this.wireConnect(transport);
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      this.signaling
        .request('produce', { transportId: transport.id, kind, rtpParameters, source: appData.source as MediaSource, paused: appData.paused === true })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    return transport;
  }

  private createRecvTransport(device: Device, info: TransportInfo, iceServers: RTCIceServer[]): types.Transport {
    const transport = device.createRecvTransport({ ...info, iceServers, iceTransportPolicy: this.options.relayOnly ? 'relay' : 'all' });
    this.wireConnect(transport);
    return transport;
  }

  private wireConnect(transport: types.Transport): void {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.signaling.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    // A network change breaks ICE before anything else: restart it first (cheap, keeps all media).
    let disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
    transport.on('connectionstatechange', (state) => {
      clearTimeout(disconnectedTimer);
      if (state === 'failed') void this.restartIce(transport);
      else if (state === 'disconnected') disconnectedTimer = setTimeout(() => void this.restartIce(transport), 2000);
    });
  }

  private addParticipant(info: ParticipantInfo): void {
    if (info.id === this.self?.id || this.participants.has(info.id)) return;
    const participant: RemoteParticipant = { ...info, tracks: {} };
    this.participants.set(info.id, participant);
    this.emit('participantJoined', participant);
  }

  private removeParticipant(peerId: string): void {
    const participant = this.participants.get(peerId);
    if (!participant) return;
    for (const [consumerId, entry] of this.consumers) {
      if (entry.info.peerId === peerId) {
        entry.consumer.close();
        this.consumers.delete(consumerId);
        this.reception.detach(consumerId);
      }
    }
    this.participants.delete(peerId);
    if (this.activeSpeakerId === peerId) this.activeSpeakerId = null;
    this.emit('participantLeft', participant);
  }

  private async consume(info: ConsumerInfo): Promise<void> {
    await this.transportsReady;
    const transport = this.recvTransport;
    if (!transport || transport.closed) return;
    try {
      const consumer = await transport.consume({
        id: info.id,
        producerId: info.producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters,
        appData: { peerId: info.peerId, source: info.source },
      });
      this.consumers.set(consumer.id, { consumer, info });
      const participant = this.participants.get(info.peerId);
      if (participant) {
        participant.tracks[info.source] = {
          consumerId: consumer.id,
          source: info.source,
          kind: info.kind,
          track: consumer.track,
          paused: info.producerPaused,
        };
        this.emit('participantUpdated', participant);
      }
      // Not awaited: the preferences go out first on the same socket, and the server keeps a
      // consumer paused while either request says so.
      this.reception.attach(consumer, info.peerId, info.source);
      await this.signaling.request('resumeConsumer', { consumerId: consumer.id });
    } catch (error) {
      this.report(error);
    }
  }

  private dropConsumer(consumerId: string): void {
    const entry = this.consumers.get(consumerId);
    if (!entry) return;
    entry.consumer.close();
    this.consumers.delete(consumerId);
    this.reception.detach(consumerId);
    const participant = this.participants.get(entry.info.peerId);
    if (participant?.tracks[entry.info.source]?.consumerId === consumerId) {
      delete participant.tracks[entry.info.source];
      this.emit('participantUpdated', participant);
    }
  }

  private setRemotePaused(consumerId: string, paused: boolean): void {
    const entry = this.consumers.get(consumerId);
    if (!entry) return;
    const participant = this.participants.get(entry.info.peerId);
    const track = participant?.tracks[entry.info.source];
    if (!participant || !track || track.consumerId !== consumerId) return;
    track.paused = paused;
    this.emit('participantUpdated', participant);
  }

  /** A consumer that closed meanwhile needs no preferences; anything else is worth showing. */
  private async sendPreferences(request: RequestOf<'setConsumerPreferences'>): Promise<void> {
    try {
      await this.signaling.request('setConsumerPreferences', request);
    } catch (error) {
      if (!(error instanceof ConclaveError && error.code === 'NOT_FOUND')) this.report(error);
    }
  }

  /** Runs a media acquisition; failures become mediaError events and an undefined result. */
  private async guard<T>(source: MediaSource, acquire: () => Promise<T>): Promise<T | undefined> {
    try {
      return await acquire();
    } catch (error) {
      const mediaError = error instanceof MediaAccessError ? error : new MediaAccessError(source, 'unknown', String(error));
      this.emit('mediaError', mediaError);
      return undefined;
    }
  }

  private report(error: unknown): void {
    const protocolError: ProtocolError =
      error instanceof ConclaveError ? { code: error.code, message: error.message } : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
    this.emit('error', protocolError);
  }

  private teardown(): void {
    for (const source of MediaSource.options) {
      this.local[source].track?.stop();
      this.local[source] = { track: null, producer: null, enabled: false };
      this.emit('localMediaChanged', source);
    }
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.consumers.clear();
    this.reception.clear();
    this.data.close();
    for (const peerId of [...this.participants.keys()]) this.removeParticipant(peerId);
    this.signaling.close();
  }
}
