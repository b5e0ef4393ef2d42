import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { ConclaveError } from '../../../shared/errors.js';
import type { ConsumerInfo, Notifications, ProduceRequest } from '../../../shared/protocol.js';
import { isClientHeaderExtension, isMediasoupHeaderExtension } from '../../../shared/rtp.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import { DataHub } from '../data/DataHub.js';
import type { Logger } from '../logger.js';
import { refusedAsBadRequest } from '../media/refusals.js';
import type { PoolWorker } from '../media/WorkerPool.js';
import { RouterSet, type RouterPlacement, type RouterSlot } from './RouterSet.js';
import { Peer, transportInfo, type ConsumerAppData, type PeerSession, type ProducerAppData, type Role } from './Peer.js';

export interface RoomOptions {
  maxPeers: number;
  /** Bitrate the send side may start with before estimation has a figure. */
  initialOutgoingBitrate: number;
  /** Largest file a participant may send to the room. */
  maxFileBytes: number;
  /** How long moving off dead workers may take (waiting for replacements) before the room is given up. */
  moveTimeoutMs: number;
}

export interface JoinParams {
  displayName: string;
  role: Role;
  rtpCapabilities: types.RtpCapabilities;
  /** The client wants data channels: its transports get SCTP. */
  dataChannels?: boolean;
  /** The participant's connection life, which the peer speaks through. */
  session: PeerSession;
}

type RoomEvents = {
  /** The room closed: its last participant left, or it could not be moved off a dead worker. */
  closed: [];
};

/**
 * A conference room: the participants, and the fan-out of every producer to every other
 * participant, across the routers it spans (RouterSet). When a worker dies, its participants move
 * to a live one and publish again; nobody has to rejoin.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly peers = new Map<string, Peer>();
  /** Chat, files, whiteboard and fast messages: the room's data channels. */
  readonly data: DataHub;
  private closed = false;
  private readonly routerSet: RouterSet;
  /** On the home router: every microphone is piped there. */
  private activeSpeaker: types.ActiveSpeakerObserver;
  /** Resolves when no slot is being rebuilt after a worker death. */
  private settled: Promise<void> = Promise.resolve();

  private constructor(
    readonly id: string,
    home: { router: types.Router; host: PoolWorker },
    activeSpeaker: types.ActiveSpeakerObserver,
    placement: RouterPlacement,
    private readonly options: RoomOptions,
    private readonly log: Logger,
  ) {
    super();
    this.routerSet = new RouterSet(home, placement, options.initialOutgoingBitrate, log, (slot) => {
      this.settled = this.settled.then(() => this.moveOffDeadWorker(slot));
    });
    this.activeSpeaker = activeSpeaker;
    this.watchSpeakers(activeSpeaker);
    this.data = new DataHub(
      {
        home: () => this.routerSet.home.router,
        routerOf: (peer) => this.routerSet.slotOf(peer)?.router,
        pipeData: (dataProducerId, from, to) => this.routerSet.pipe({ dataProducerId }, from, to),
        peers: () => this.peers.values(),
      },
      { maxFileBytes: options.maxFileBytes },
      this.log,
    );
  }

  static async create(id: string, placement: RouterPlacement, options: RoomOptions, log: Logger): Promise<Room> {
    const home = await placement.createRouter();
    try {
      const activeSpeaker = await home.router.createActiveSpeakerObserver({ interval: 300 });
      const room = new Room(id, home, activeSpeaker, placement, options, log.child({ room: id }));
      await room.data.start();
      return room;
    } catch (error) {
      home.router.close();
      throw error;
    }
  }

  /** The home router (tests, health). */
  get router(): types.Router {
    return this.routerSet.home.router;
  }

  get host(): PoolWorker {
    return this.routerSet.home.host;
  }

  /** Every router the room uses, with its worker and participants (tests, metrics). */
  get routers(): readonly { router: types.Router; host: PoolWorker; peerIds: string[] }[] {
    return this.routerSet.describe();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Admits a participant: picks its router, creates its transports and tells the others. */
  async join({ displayName, role, rtpCapabilities, dataChannels = false, session }: JoinParams): Promise<Peer> {
    await this.settled;
    if (this.peers.size >= this.options.maxPeers) {
      throw new ConclaveError('ROOM_FULL', `Room ${this.id} is full (${this.options.maxPeers} participants)`);
    }
    const slot = await this.routerSet.place();
    const peerId = randomUUID();
    const [sendTransport, recvTransport] = await this.routerSet.createTransports(slot, peerId, dataChannels);
    const peer = new Peer(peerId, displayName, role, rtpCapabilities, sendTransport, recvTransport, session, dataChannels);
    // The room may have closed, filled up or lost that router while the transports were created.
    if (this.closed || this.peers.size >= this.options.maxPeers || slot.router.closed) {
      peer.close();
      throw this.peers.size >= this.options.maxPeers
        ? new ConclaveError('ROOM_FULL', `Room ${this.id} is full (${this.options.maxPeers} participants)`)
        : new ConclaveError('INTERNAL', 'The room changed while joining; please retry');
    }
    this.broadcast('participantJoined', peer.info);
    this.peers.set(peerId, peer);
    this.routerSet.seat(peer, slot);
    this.log.info({ peer: peerId, name: displayName, peers: this.peers.size, worker: slot.host.index }, 'participant joined');
    return peer;
  }

  private watchSpeakers(activeSpeaker: types.ActiveSpeakerObserver): void {
    activeSpeaker.on('dominantspeaker', ({ producer }) => {
      const { peerId } = producer.appData as ProducerAppData;
      this.broadcast('activeSpeaker', { peerId });
    });
  }

  /**
   * A worker died with one of the room's routers: its participants get transports on a live
   * router and publish again; everyone else keeps going (what came from the dead router is
   * closed and returns when republished). Further faults during the move (the target worker
   * dying too, every worker dying at once) are retried on whatever is live, waiting for
   * replacement workers, until `moveTimeoutMs`; only then is the room given up, and its
   * participants told so they rejoin by themselves.
   */
  private async moveOffDeadWorker(dead: RouterSlot): Promise<void> {
    if (this.closed || !this.routerSet.drop(dead)) return;
    const movers = [...dead.peers];
    const deadline = Date.now() + this.options.moveTimeoutMs;
    this.log.warn({ worker: dead.host.index, peers: movers.length }, 'worker died; moving its participants');
    const moved =
      (dead !== this.routerSet.home || (await this.retryUntil(deadline, 'a new home router', () => this.newHome(deadline - Date.now())))) &&
      (
        await Promise.all(movers.map((peer) => this.retryUntil(deadline, `participant ${peer.id}`, () => this.moveParticipant(peer, deadline - Date.now()))))
      ).every(Boolean);
    if (this.closed) return;
    if (moved) this.log.info({ routers: this.routerSet.count }, 'participants moved');
    else this.lose('The media server failed and the call could not be kept; rejoining…');
  }

  /** Runs `step` until it succeeds, backing off between tries; false when `deadline` passed first. */
  private async retryUntil(deadline: number, what: string, step: () => Promise<void>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) return false;
      try {
        await step();
        return true;
      } catch (error) {
        if (this.closed) return false;
        const waitMs = Math.min(1000, 100 * 2 ** attempt);
        if (Date.now() + waitMs > deadline) {
          this.log.error({ err: error, what, attempts: attempt + 1 }, 'giving up moving off the dead worker');
          return false;
        }
        this.log.warn({ err: error, what, attempt: attempt + 1, retryInMs: waitMs }, 'moving off the dead worker failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** One participant of a dead router: new transports on a live one, told to publish again. */
  private async moveParticipant(peer: Peer, waitMs: number): Promise<void> {
    if (peer.isClosed || this.peers.get(peer.id) !== peer) return;
    const slot = await this.routerSet.place(waitMs);
    const transports = await this.routerSet.createTransports(slot, peer.id, peer.dataChannels);
    // That router's worker may have died meanwhile (its own move is queued): try another.
    if (slot.router.closed || peer.isClosed) {
      for (const transport of transports) transport.close();
      if (peer.isClosed) return;
      throw new Error(`router ${slot.router.id} closed while moving a participant to it`);
    }
    const [sendTransport, recvTransport] = transports;
    peer.replaceTransports(sendTransport, recvTransport);
    this.routerSet.seat(peer, slot);
    peer.notify('mediaReset', { sendTransport: transportInfo(sendTransport), recvTransport: transportInfo(recvTransport) });
    // Seated: if this router dies too, that death's own move takes the participant on.
    await this.consumeExisting(peer).catch((error: unknown) => this.log.warn({ err: error, peer: peer.id }, 'consuming after a move failed'));
  }

  /** The home router died: the active speaker observer moves to a live router, with every microphone. */
  private async newHome(waitMs: number): Promise<void> {
    const home = await this.routerSet.newHome(waitMs);
    this.activeSpeaker = await home.router.createActiveSpeakerObserver({ interval: 300 });
    this.watchSpeakers(this.activeSpeaker);
    for (const peer of this.peers.values()) {
      for (const producer of peer.producers.values()) {
        if (producer.appData.source === 'mic' && !producer.closed) void this.observeSpeaker(peer, producer);
      }
    }
    await this.data.moveHome();
  }

  /**
   * The room cannot be kept (no worker could take it in time): everyone is told, so their clients
   * join again by themselves as soon as a worker is back, then the room closes.
   */
  private lose(message: string): void {
    this.log.error({ peers: this.peers.size }, 'could not move the participants; closing the room');
    this.broadcast('roomLost', { message });
    this.close();
  }

  /**
   * Creates consumers for everything already published in the room, then the room's data
   * channels: a newcomer's first video does not wait behind them.
   */
  async consumeExisting(peer: Peer): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const other of this.peers.values()) {
      if (other === peer) continue;
      for (const producer of other.producers.values()) pending.push(this.consume(peer, producer));
    }
    await Promise.all(pending);
    await this.data.connect(peer);
  }

  leave(peer: Peer): void {
    if (!this.peers.delete(peer.id)) return;
    this.data.leave(peer);
    peer.close();
    this.routerSet.unseat(peer);
    this.log.info({ peer: peer.id, peers: this.peers.size }, 'participant left');
    this.broadcast('participantLeft', { peerId: peer.id });
    if (this.peers.size === 0) this.close();
  }

  async produce(peer: Peer, request: ProduceRequest): Promise<types.Producer<ProducerAppData>> {
    const transport = peer.transport(request.transportId);
    if (transport.appData.direction !== 'send') {
      throw new ConclaveError('FORBIDDEN', 'Produce on your send transport');
    }
    const mismatched = request.rtpParameters.codecs.find((codec) => !codec.mimeType.toLowerCase().startsWith(`${request.kind}/`));
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
      producer = await refusedAsBadRequest(
        'produce',
        transport.produce<ProducerAppData>({
          kind: request.kind,
          rtpParameters: {
            ...request.rtpParameters,
            headerExtensions: request.rtpParameters.headerExtensions?.filter(isMediasoupHeaderExtension),
          },
          paused: request.paused,
          appData: { peerId: peer.id, source: request.source },
        }),
      );
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
    if (request.source === 'mic') await this.observeSpeaker(peer, producer);
    return producer;
  }

  /** Feeds a microphone to the active speaker observer on the home router. */
  private async observeSpeaker(peer: Peer, producer: types.Producer<ProducerAppData>): Promise<void> {
    try {
      const slot = this.routerSet.slotOf(peer);
      const { home } = this.routerSet;
      if (slot && slot !== home) await this.routerSet.pipe({ producerId: producer.id }, slot.router, home.router);
      await this.activeSpeaker.addProducer({ producerId: producer.id });
    } catch (error) {
      this.log.warn({ err: error, producer: producer.id }, 'active speaker observer could not take a microphone');
    }
  }

  /** Gives `consumer` a paused consumer of `producer`; resumed when the client has it. */
  private async consume(consumerPeer: Peer, producer: types.Producer<ProducerAppData>): Promise<void> {
    const target = this.routerSet.slotOf(consumerPeer);
    const source = this.routerSet.slotOf(this.peers.get(producer.appData.peerId) ?? consumerPeer);
    if (!target || !source) return;
    let consumer: types.Consumer<ConsumerAppData>;
    try {
      if (source !== target) await this.routerSet.pipe({ producerId: producer.id }, source.router, target.router);
      if (!target.router.canConsume({ producerId: producer.id, rtpCapabilities: consumerPeer.rtpCapabilities })) {
        this.log.warn({ peer: consumerPeer.id, producer: producer.id }, 'participant cannot decode this producer');
        return;
      }
      consumer = await consumerPeer.recvTransport.consume<ConsumerAppData>({
        producerId: producer.id,
        rtpCapabilities: consumerPeer.rtpCapabilities,
        paused: true,
        appData: { peerId: producer.appData.peerId, source: producer.appData.source },
      });
    } catch (error) {
      // A transport, router or the producer closed meanwhile: nothing to deliver.
      this.log.debug({ err: error, peer: consumerPeer.id }, 'consume abandoned');
      return;
    }
    // The participant may have left (or moved after a worker death) while the consumer was made.
    if (consumerPeer.isClosed || consumer.closed || this.routerSet.slotOf(consumerPeer) !== target) {
      consumer.close();
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
    consumer.on('layerschange', (layers) =>
      consumerPeer.notify('consumerLayers', {
        consumerId: consumer.id,
        spatialLayer: layers?.spatialLayer ?? null,
        temporalLayer: layers?.temporalLayer ?? null,
      }),
    );
    // When bandwidth is short, the estimator serves a shared screen before cameras.
    if (producer.appData.source === 'screen') await consumer.setPriority(2).catch(() => undefined);
    const info: ConsumerInfo = {
      id: consumer.id,
      producerId: producer.id,
      peerId: producer.appData.peerId,
      kind: consumer.kind,
      source: producer.appData.source,
      rtpParameters: { ...consumer.rtpParameters, headerExtensions: consumer.rtpParameters.headerExtensions?.filter(isClientHeaderExtension) },
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
    this.data.close();
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.routerSet.close();
    this.log.info('room closed');
    this.emit('closed');
  }
}
