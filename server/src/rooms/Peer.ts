import type { types } from 'mediasoup';
import { ConclaveError } from '../../../shared/errors.js';
import type { MediaSource, Notifications, ParticipantInfo, TransportInfo } from '../../../shared/protocol.js';

export type Notify = <K extends keyof Notifications>(event: K, payload: Notifications[K]) => void;

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

/** A participant in a room: its two transports, what it publishes and what it receives. */
export class Peer {
  readonly joinedAt = Date.now();
  readonly producers = new Map<string, types.Producer<ProducerAppData>>();
  readonly consumers = new Map<string, types.Consumer<ConsumerAppData>>();
  /** Sources with a producer open or being created. */
  readonly publishing = new Set<MediaSource>();
  private closed = false;

  constructor(
    readonly id: string,
    readonly displayName: string,
    readonly rtpCapabilities: types.RtpCapabilities,
    readonly sendTransport: types.WebRtcTransport<TransportAppData>,
    readonly recvTransport: types.WebRtcTransport<TransportAppData>,
    readonly notify: Notify,
  ) {}

  get info(): ParticipantInfo {
    return { id: this.id, displayName: this.displayName, joinedAt: this.joinedAt };
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
    this.sendTransport.close();
    this.recvTransport.close();
  }
}

export function transportInfo(transport: types.WebRtcTransport): TransportInfo {
  return {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
  };
}
