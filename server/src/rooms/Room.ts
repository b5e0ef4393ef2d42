import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { ConclaveError } from '../../../shared/errors.js';
import type { ConsumerInfo, Notifications, ProduceRequest } from '../../../shared/protocol.js';
import { isMediasoupHeaderExtension } from '../../../shared/rtp.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';
import type { PoolWorker } from '../media/WorkerPool.js';
import { Peer, transportInfo, type ConsumerAppData, type ProducerAppData, type Role, type TransportAppData, type TransportDirection } from './Peer.js';
import { PeerLink, type NotificationSink } from './PeerLink.js';

export interface RoomOptions {
  maxPeers: number;
  /** Bitrate the send side may start with before estimation has a figure. */
  initialOutgoingBitrate: number;
}

/** Makes a router on a live worker (waiting for a replacement if none is live). */
export type RouterFactory = () => Promise<{ router: types.Router; host: PoolWorker }>;

export interface JoinParams {
  displayName: string;
  role: Role;
  rtpCapabilities: types.RtpCapabilities;
  sink: NotificationSink;
}

type RoomEvents = {
  /** The room closed: its last participant left, or it could not be moved off a dead worker. */
  closed: [];
};

/** The mediasoup side of a room: replaced as a whole when its worker dies. */
interface RoomMedia {
  router: types.Router;
  host: PoolWorker;
  activeSpeaker: types.ActiveSpeakerObserver;
}

const SOURCE_KIND = { mic: 'audio', camera: 'video', screen: 'video' } as const;

/**
 * A conference room: one mediasoup router on one worker, the participants in it, and the
 * fan-out of every producer to every other participant. If the worker dies, the room moves to a
 * healthy one and its participants reconnect their media; nobody has to rejoin.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly peers = new Map<string, Peer>();
  private closed = false;
  /** Resolves when the room has a live router (pending while it moves off a dead worker). */
  private settled: Promise<void> = Promise.resolve();

  private constructor(
    readonly id: string,
    private media: RoomMedia,
    private readonly createRouter: RouterFactory,
    private readonly options: RoomOptions,
    private readonly log: Logger,
  ) {
    super();
    this.watch(media);
  }

  static async create(id: string, createRouter: RouterFactory, options: RoomOptions, log: Logger): Promise<Room> {
    return new Room(id, await buildMedia(createRouter), createRouter, options, log.child({ room: id }));
  }

  get router(): types.Router {
    return this.media.router;
  }

  get host(): PoolWorker {
    return this.media.host;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private watch({ router, activeSpeaker }: RoomMedia): void {
    activeSpeaker.on('dominantspeaker', ({ producer }) => {
      const { peerId } = producer.appData as ProducerAppData;
      this.broadcast('activeSpeaker', { peerId });
    });
    router.on('workerclose', () => {
      this.settled = this.moveOffDeadWorker();
    });
  }

  /** The worker died: new router elsewhere, new transports for everyone, clients publish again. */
  private async moveOffDeadWorker(): Promise<void> {
    if (this.closed) return;
    this.log.warn({ peers: this.peers.size }, 'worker died; moving the room to a live worker');
    try {
      this.media = await buildMedia(this.createRouter);
      this.watch(this.media);
      await Promise.all(
        [...this.peers.values()].map(async (peer) => {
          const [sendTransport, recvTransport] = await Promise.all([this.createTransport(peer.id, 'send'), this.createTransport(peer.id, 'recv')]);
          peer.replaceTransports(sendTransport, recvTransport);
          peer.notify('mediaReset', { sendTransport: transportInfo(sendTransport), recvTransport: transportInfo(recvTransport) });
        }),
      );
      this.log.info({ worker: this.media.host.index }, 'room moved');
    } catch (error) {
      this.log.error({ err: error }, 'could not move the room; closing it');
      this.close();
    }
  }

  /** Admits a participant: creates its transports and tells the others. */
  async join({ displayName, role, rtpCapabilities, sink }: JoinParams): Promise<Peer> {
    await this.settled;
    if (this.peers.size >= this.options.maxPeers) {
      throw new ConclaveError('ROOM_FULL', `Room ${this.id} is full (${this.options.maxPeers} participants)`);
    }
    const peerId = randomUUID();
    const [sendTransport, recvTransport] = await Promise.all([
      this.createTransport(peerId, 'send'),
      this.createTransport(peerId, 'recv'),
    ]);
    const peer = new Peer(peerId, displayName, role, rtpCapabilities, sendTransport, recvTransport, new PeerLink(sink));
    // The room may have closed or filled up while the transports were created.
    if (this.closed || this.peers.size >= this.options.maxPeers) {
      peer.close();
      throw this.closed
        ? new ConclaveError('INTERNAL', 'The room closed while joining; please retry')
        : new ConclaveError('ROOM_FULL', `Room ${this.id} is full (${this.options.maxPeers} participants)`);
    }
    this.broadcast('participantJoined', peer.info);
    this.peers.set(peerId, peer);
    this.log.info({ peer: peerId, name: displayName, peers: this.peers.size }, 'participant joined');
    return peer;
  }

  /** Creates consumers for everything already published in the room. */
  async consumeExisting(peer: Peer): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const other of this.peers.values()) {
      if (other === peer) continue;
      for (const producer of other.producers.values()) pending.push(this.consume(peer, producer));
    }
    await Promise.all(pending);
  }

  leave(peer: Peer): void {
    if (!this.peers.delete(peer.id)) return;
    peer.close();
    this.log.info({ peer: peer.id, peers: this.peers.size }, 'participant left');
    this.broadcast('participantLeft', { peerId: peer.id });
    if (this.peers.size === 0) this.close();
  }

  async produce(peer: Peer, request: ProduceRequest): Promise<types.Producer<ProducerAppData>> {
    const transport = peer.transport(request.transportId);
    if ((transport.appData as TransportAppData).direction !== 'send') {
      throw new ConclaveError('FORBIDDEN', 'Produce on your send transport');
    }
    if (SOURCE_KIND[request.source] !== request.kind) {
      throw new ConclaveError('BAD_REQUEST', `A ${request.source} track must be ${SOURCE_KIND[request.source]}`);
    }
    const mismatched = request.rtpParameters.codecs.find(
      (codec) => !codec.mimeType.toLowerCase().startsWith(`${request.kind}/`),
    );
    if (mismatched) {
      throw new ConclaveError('BAD_REQUEST', `Codec ${mismatched.mimeType} does not carry ${request.kind}`);
    }
    // Reserved before the first await so two concurrent requests cannot both publish one source.
    if (peer.publishing.has(request.source)) {
      throw new ConclaveError('BAD_REQUEST', `You already publish a ${request.source} track; close it first`);
    }
    peer.publishing.add(request.source);
    let producer: types.Producer<ProducerAppData>;
    try {
      producer = await transport.produce<ProducerAppData>({
        kind: request.kind,
        rtpParameters: {
          ...request.rtpParameters,
          headerExtensions: request.rtpParameters.headerExtensions?.filter(isMediasoupHeaderExtension),
        },
        paused: request.paused,
        appData: { peerId: peer.id, source: request.source },
      });
    } catch (error) {
      peer.publishing.delete(request.source);
      throw error;
    }
    producer.observer.on('close', () => {
      peer.producers.delete(producer.id);
      peer.publishing.delete(request.source);
    });
    if (peer.isClosed || !this.peers.has(peer.id)) {
      producer.close();
      throw new ConclaveError('NOT_JOINED', 'You left the room while publishing');
    }
    // Registered and fanned out in the same tick, so a participant joining meanwhile gets it exactly once.
    peer.producers.set(producer.id, producer);
    for (const other of this.peers.values()) {
      if (other !== peer) void this.consume(other, producer);
    }
    this.log.debug({ peer: peer.id, producer: producer.id, source: request.source }, 'producing');
    if (request.source === 'mic') {
      await this.media.activeSpeaker.addProducer({ producerId: producer.id }).catch((error: unknown) => {
        this.log.warn({ err: error }, 'active speaker observer refused a producer');
      });
    }
    return producer;
  }

  /** Gives `consumer` a paused consumer of `producer`; resumed when the client has it. */
  private async consume(consumerPeer: Peer, producer: types.Producer<ProducerAppData>): Promise<void> {
    if (!this.media.router.canConsume({ producerId: producer.id, rtpCapabilities: consumerPeer.rtpCapabilities })) {
      this.log.warn({ peer: consumerPeer.id, producer: producer.id }, 'participant cannot decode this producer');
      return;
    }
    let consumer: types.Consumer<ConsumerAppData>;
    try {
      consumer = await consumerPeer.recvTransport.consume<ConsumerAppData>({
        producerId: producer.id,
        rtpCapabilities: consumerPeer.rtpCapabilities,
        paused: true,
        appData: { peerId: producer.appData.peerId, source: producer.appData.source },
      });
    } catch (error) {
      // The consumer's transport or the producer closed meanwhile: nothing to deliver.
      this.log.debug({ err: error, peer: consumerPeer.id }, 'consume abandoned');
      return;
    }
    consumerPeer.consumers.set(consumer.id, consumer);
    const notifyClosed = (): void => {
      consumerPeer.consumers.delete(consumer.id);
      if (!consumerPeer.isClosed) consumerPeer.notify('consumerClosed', { consumerId: consumer.id });
    };
    consumer.on('transportclose', () => consumerPeer.consumers.delete(consumer.id));
    consumer.on('producerclose', notifyClosed);
    consumer.on('producerpause', () => consumerPeer.notify('consumerPaused', { consumerId: consumer.id }));
    consumer.on('producerresume', () => consumerPeer.notify('consumerResumed', { consumerId: consumer.id }));
    const info: ConsumerInfo = {
      id: consumer.id,
      producerId: producer.id,
      peerId: producer.appData.peerId,
      kind: consumer.kind,
      source: producer.appData.source,
      rtpParameters: consumer.rtpParameters,
      producerPaused: consumer.producerPaused,
    };
    consumerPeer.notify('newConsumer', info);
  }

  broadcast<K extends keyof Notifications>(event: K, payload: Notifications[K], except?: Peer): void {
    for (const peer of this.peers.values()) {
      if (peer !== except) peer.notify(event, payload);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.media.router.close();
    this.log.info('room closed');
    this.emit('closed');
  }

  private async createTransport(peerId: string, direction: TransportDirection): Promise<types.WebRtcTransport<TransportAppData>> {
    return this.media.router.createWebRtcTransport<TransportAppData>({
      webRtcServer: this.media.host.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.options.initialOutgoingBitrate,
      appData: { peerId, direction },
    });
  }
}

async function buildMedia(createRouter: RouterFactory): Promise<RoomMedia> {
  const { router, host } = await createRouter();
  try {
    const activeSpeaker = await router.createActiveSpeakerObserver({ interval: 300 });
    return { router, host, activeSpeaker };
  } catch (error) {
    router.close();
    throw error;
  }
}
