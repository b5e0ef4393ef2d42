import { randomBytes } from 'node:crypto';
import type { types } from 'mediasoup';
import type { SessionEventBody } from '../../../shared/diagnostics.js';
import { ConclaveError } from '../../../shared/errors.js';
import type { MediaSource, Notifications, ParticipantInfo, TransportInfo } from '../../../shared/protocol.js';
import type { Role } from '../../../shared/roles.js';
import type { ConsumerPreferences } from '../session/ConsumerPreferences.js';

export interface ProducerAppData extends types.AppData {
  peerId: string;
  source: MediaSource;
}

export interface ConsumerAppData extends types.AppData {
  peerId: string;
  source: MediaSource;
}

export type TransportDirection = 'send' | 'recv';

export interface TransportAppData extends types.AppData {
  peerId: string;
  direction: TransportDirection;
  /** Set once the client sent its DTLS parameters; a transport connects once. */
  connectRequested?: boolean;
}

export type { Role };

/** What a peer needs of its participant's session (server/src/session/Session.ts on a real server). */
export interface PeerSession {
  /** Delivers a notification now, or queues it while the participant is reconnecting. */
  send<K extends keyof Notifications>(event: K, payload: Notifications[K]): void;
  readonly connected: boolean;
  /** What its client asked of its consumers, and what its link allows them. */
  readonly preferences: ConsumerPreferences;
  /** Something happened to the participant's session (shared/diagnostics.ts): its log, and its client. */
  record(event: SessionEventBody): void;
  /** The peer closed: nothing may wait on it any more. */
  ended(): void;
}

/** A participant in a room: its two transports, what it publishes and what it receives. */
export class Peer {
  /** When they joined the room: now, or on the node they moved from (a stopping node of a cluster). */
  joinedAt = Date.now();
  /** Proves a reconnecting client is this peer; given only in the join answer. */
  readonly resumeToken = randomBytes(24).toString('base64url');
  readonly producers = new Map<string, types.Producer<ProducerAppData>>();
  readonly consumers = new Map<string, types.Consumer<ConsumerAppData>>();
  /** Sources with a producer open or being created. */
  readonly publishing = new Set<MediaSource>();
  /** Producers it has, or is getting, a consumer of (one each), with the claim of the consume that holds it. */
  readonly receiving = new Map<string, object>();
  /** When their hand went up (mirrors the room's shared state), or null. */
  handRaisedAt: number | null = null;
  /** What a ban on them bars from coming back: their name, and their token's subject if any. */
  banKeys: string[] = [];
  private closed = false;

  constructor(
    readonly id: string,
    readonly displayName: string,
    /** Mirrors the room's shared state (moderation/RoomState), for the notifications that carry it. */
    public role: Role,
    readonly rtpCapabilities: types.RtpCapabilities,
    public sendTransport: types.WebRtcTransport<TransportAppData>,
    public recvTransport: types.WebRtcTransport<TransportAppData>,
    /** Its connection life: where its notifications go, and whether it is reconnecting. */
    readonly session: PeerSession,
    /** The client wants data channels; its transports (also after a media reset) get SCTP. */
    readonly dataChannels = false,
  ) {
    this.watch(sendTransport);
    this.watch(recvTransport);
  }

  notify<K extends keyof Notifications>(event: K, payload: Notifications[K]): void {
    this.session.send(event, payload);
  }

  /** After a worker died: the old transports are gone with their router; media starts over on these. */
  replaceTransports(sendTransport: types.WebRtcTransport<TransportAppData>, recvTransport: types.WebRtcTransport<TransportAppData>): void {
    this.producers.clear();
    this.consumers.clear();
    this.publishing.clear();
    this.receiving.clear();
    this.sendTransport = sendTransport;
    this.recvTransport = recvTransport;
    this.watch(sendTransport);
    this.watch(recvTransport);
  }

  /** The transport's ICE and DTLS states and the route media takes go to the session's events. */
  private watch(transport: types.WebRtcTransport<TransportAppData>): void {
    const direction = transport.appData.direction;
    transport.on('icestatechange', (state) => this.session.record({ kind: 'ice', transport: direction, state }));
    transport.on('dtlsstatechange', (state) => this.session.record({ kind: 'dtls', transport: direction, state }));
    transport.on('iceselectedtuplechange', ({ protocol, remoteIp, remotePort }) =>
      this.session.record({ kind: 'route', transport: direction, protocol, remote: addressOf(remoteIp, remotePort) }),
    );
  }

  get info(): ParticipantInfo {
    return {
      id: this.id,
      displayName: this.displayName,
      joinedAt: this.joinedAt,
      reconnecting: !this.session.connected,
      role: this.role,
      handRaisedAt: this.handRaisedAt,
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** One of this peer's own transports; anything else is refused. */
  transport(transportId: string): types.WebRtcTransport<TransportAppData> {
    if (this.sendTransport.id === transportId) return this.sendTransport;
    if (this.recvTransport.id === transportId) return this.recvTransport;
    throw new ConclaveError('NOT_FOUND', `No transport ${transportId} of yours`);
  }

  producer(producerId: string): types.Producer<ProducerAppData> {
    const producer = this.producers.get(producerId);
    if (!producer) throw new ConclaveError('NOT_FOUND', `No producer ${producerId} of yours`);
    return producer;
  }

  consumer(consumerId: string): types.Consumer<ConsumerAppData> {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) throw new ConclaveError('NOT_FOUND', `No consumer ${consumerId} of yours`);
    return consumer;
  }

  /** Closing the transports closes every producer and consumer on them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.ended();
    this.sendTransport.close();
    this.recvTransport.close();
  }
}

/** `ip:port`, with an IPv6 address in brackets. */
function addressOf(ip: string | undefined, port: number | undefined): string {
  const host = ip?.includes(':') ? `[${ip}]` : (ip ?? '?');
  return port === undefined ? host : `${host}:${port}`;
}

export function transportInfo(transport: types.WebRtcTransport): TransportInfo {
  return {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
    ...(transport.sctpParameters ? { sctpParameters: sctpParametersOf(transport.sctpParameters) } : {}),
  };
}

/** What a browser needs of the transport's SCTP side (mediasoup also reports its buffer settings). */
function sctpParametersOf({ port, maxSendMessageSize, maxReceiveMessageSize }: types.SctpParameters): TransportInfo['sctpParameters'] {
  return { port, maxSendMessageSize, maxReceiveMessageSize };
}
