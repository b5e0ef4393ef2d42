import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { ConclaveError } from '../../../shared/errors.js';
import type { Notifications, ParticipantInfo, ProduceRequest } from '../../../shared/protocol.js';
import { isMediasoupHeaderExtension } from '../../../shared/rtp.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import { DataHub } from '../data/DataHub.js';
import type { Logger } from '../logger.js';
import { refusedAsBadRequest } from '../media/refusals.js';
import type { PoolWorker } from '../media/WorkerPool.js';
import { consume, type FanoutRoom } from './consume.js';
import { Failover } from './Failover.js';
import { RouterSet, type RouterPlacement } from './RouterSet.js';
import { SpeakerWatch } from './SpeakerWatch.js';
import { Peer, type PeerSession, type ProducerAppData, type Role } from './Peer.js';

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
  /** Decided in the tick the participant is seated, so two first arrivals cannot both be first. */
  role: () => Role;
  rtpCapabilities: types.RtpCapabilities;
  /** The client wants data channels: its transports get SCTP. */
  dataChannels?: boolean;
  /** The participant's connection life, which the peer speaks through. */
  session: PeerSession;
  /** What a ban on them would bar (moderation). */
  banKeys?: string[];
  /** They continue a place they held on a stopping node of the cluster: same id and join time. */
  continues?: { peerId: string; joinedAt: number };
}

/** Tries a join makes when workers die under it, before answering UNAVAILABLE. */
const JOIN_ATTEMPTS = 3;

/** The router a join was placing someone on closed (its worker died): the join waits for the move and tries again. */
class RouterLost extends Error {
  constructor() {
    super('the router closed during the join');
  }
}

/** One notification to the whole room, as the room's other nodes hear of it (server/src/cluster/RoomSpan). */
export type RoomNotice = { [K in keyof Notifications]: { event: K; payload: Notifications[K] } }[keyof Notifications];

/** Notifications each node works out for itself, or that concern only its own participants: never passed on. */
const NODE_LOCAL_NOTICES: ReadonlySet<keyof Notifications> = new Set(['activeSpeaker', 'roomLost']);

/** A participant of this room on another node of the cluster (a room spanning nodes). */
export interface RemoteParticipant {
  info: ParticipantInfo;
  /** The node they are connected to. */
  node: string;
  /** When this node heard of them (reconciling leaves the newest alone). */
  since: number;
  /** Their node is stopping and they are moving to another: kept until then (ms since epoch), not dropped with their node. */
  movingUntil?: number;
}

type RoomEvents = {
  /** The room closed: its last participant left, or it could not be moved off a dead worker. */
  closed: [];
  /** Seated (everyone else was told); `left` follows however they go. */
  joined: [peer: Peer];
  left: [peer: Peer];
  /** A participant here published: the room's other nodes are told. */
  produced: [producer: types.Producer<ProducerAppData>];
  /** A notification went to the whole room: the room's other nodes pass it on to theirs. */
  announced: [notice: RoomNotice];
  /** A notification from the room's part on another node reached everyone here. */
  delivered: [notice: RoomNotice];
};

// Over 350 lines on purpose: seating (participants and observers), fan-out and broadcast all read
// the same peer maps and router set; what stands alone is its own file: RouterSet, Failover,
// SpeakerWatch, consume, DataHub.

/** What the room's rules let a participant do beyond speaking for themself (RoomPolicy). */
export type Permits = (peer: Peer, what: 'chat' | 'files' | 'screenShare') => boolean;

/**
 * A conference room: the participants, and the fan-out of every producer to every other
 * participant, across the routers it spans (RouterSet). When a worker dies, its participants move
 * to a live one and publish again; nobody has to rejoin.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly peers = new Map<string, Peer>();
  /**
   * Receive-only peers nobody sees: a recording's compositor (server/src/recording). They get every
   * producer and the room's notifications, but are not participants: not listed, not counted, and
   * a room with only observers left closes.
   */
  readonly observers = new Map<string, Peer>();
  /** Participants on other nodes, when the room spans nodes (kept by server/src/cluster/RoomSpan). */
  readonly remote = new Map<string, RemoteParticipant>();
  /** Other nodes' producers piped to this node's home router, by id. */
  readonly remoteProducers = new Map<string, types.Producer<ProducerAppData>>();
  readonly createdAt = Date.now();
  /** Chat, files, whiteboard and fast messages: the room's data channels. */
  readonly data: DataHub;
  /** The meeting's rules (server/src/moderation): everyone may do everything until it says otherwise. */
  permits: Permits = () => true;
  /** Who spoke last (the active speaker observer's latest), for those who arrive later: the compositor. */
  activeSpeaker: string | null = null;
  private closed = false;
  private readonly routerSet: RouterSet;
  private readonly speakers: SpeakerWatch;
  /** Resolves when no slot is being rebuilt after a worker death. */
  private settled: Promise<void> = Promise.resolve();

  private constructor(
    readonly id: string,
    home: { router: types.Router; host: PoolWorker },
    speakerObserver: types.ActiveSpeakerObserver,
    placement: RouterPlacement,
    private readonly options: RoomOptions,
    private readonly log: Logger,
  ) {
    super();
    const failover = new Failover(
      {
        routers: () => this.routerSet,
        isMember: (peer) => !this.closed && this.peers.get(peer.id) === peer,
        isClosed: () => this.closed,
        newHome: (waitMs) => this.newHome(waitMs),
        consumeExisting: (peer) => this.consumeExisting(peer),
        lose: (message) => this.lose(message),
      },
      options.moveTimeoutMs,
      log,
    );
    this.routerSet = new RouterSet(home, placement, options.initialOutgoingBitrate, log, (slot) => {
      this.settled = this.settled.then(() => failover.moveOff(slot));
    });
    this.speakers = new SpeakerWatch(
      speakerObserver,
      this.routerSet,
      (peerId) => {
        this.activeSpeaker = peerId;
        this.broadcast('activeSpeaker', { peerId });
      },
      log,
    );
    this.data = new DataHub(
      {
        home: () => this.routerSet.home.router,
        routerOf: (peer) => this.routerSet.slotOf(peer)?.router,
        pipeData: (dataProducerId, from, to) => this.routerSet.pipe({ dataProducerId }, from, to),
        peers: () => this.peers.values(),
        permits: (peer, what) => this.permits(peer, what),
      },
      { maxFileBytes: options.maxFileBytes },
      this.log,
    );
  }

  static async create(id: string, placement: RouterPlacement, options: RoomOptions, log: Logger): Promise<Room> {
    const home = await placement.createRouter();
    try {
      const speakerObserver = await SpeakerWatch.observe(home.router);
      const room = new Room(id, home, speakerObserver, placement, options, log.child({ room: id }));
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

  private get fanout(): FanoutRoom {
    return { routerSet: this.routerSet, peers: this.peers, remoteProducers: this.remoteProducers, log: this.log };
  }

  /** Everyone in the room, on this node and on others, but `except`: what a join answer lists. */
  participants(except?: Peer): ParticipantInfo[] {
    const local = [...this.peers.values()].filter((peer) => peer !== except).map((peer) => peer.info);
    return [...local, ...[...this.remote.values()].map((remote) => remote.info)];
  }

  /**
   * Another node's producer, piped to this node's home router: every participant and observer here
   * gets a consumer of it, a microphone joins the active speaker watch, and it is forgotten when it
   * closes (its pipe closed: the producer, its owner or its node went).
   */
  addRemoteProducer(producer: types.Producer<ProducerAppData>): void {
    if (this.closed || producer.closed || this.remoteProducers.has(producer.id)) return;
    this.remoteProducers.set(producer.id, producer);
    producer.observer.once('close', () => {
      if (this.remoteProducers.get(producer.id) === producer) this.remoteProducers.delete(producer.id);
    });
    for (const peer of this.peers.values()) void consume(this.fanout, peer, producer);
    for (const observer of this.observers.values()) void consume(this.fanout, observer, producer);
    if (producer.appData.source === 'mic') void this.speakers.addRemote(producer);
  }

  /** A notification from the room's part on another node, for everyone here. */
  deliver(notice: RoomNotice): void {
    this.notifyHere(notice.event, notice.payload);
    this.emit('delivered', notice);
  }

  /**
   * Admits a participant: picks its router, creates its transports and tells the others. A worker
   * that dies under the join (its router closing before the transports are made, or right after)
   * is waited out: the room moves first, and the join tries again on the new router.
   */
  async join(params: JoinParams): Promise<Peer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admit(params);
      } catch (error) {
        if (!(error instanceof RouterLost) || this.closed || attempt >= JOIN_ATTEMPTS) {
          throw error instanceof RouterLost ? new ConclaveError('UNAVAILABLE', 'The media server failed during your join; try again') : error;
        }
        this.log.warn({ attempt }, 'a worker died during a join; joining again once the room has moved');
      }
    }
  }

  private async admit({ displayName, role, rtpCapabilities, dataChannels = false, session, banKeys = [], continues }: JoinParams): Promise<Peer> {
    await this.settled;
    if (this.closed) throw new ConclaveError('UNAVAILABLE', 'The room was closed; try again');
    if (this.peers.size >= this.options.maxPeers) {
      throw new ConclaveError('ROOM_FULL', `Room ${this.id} is full (${this.options.maxPeers} participants)`);
    }
    if (continues && this.peers.has(continues.peerId)) throw new ConclaveError('BAD_REQUEST', 'That place is already taken here');
    const slot = await this.routerSet.place();
    const peerId = continues?.peerId ?? randomUUID();
    let transports: Awaited<ReturnType<RouterSet['createTransports']>>;
    try {
      transports = await this.routerSet.createTransports(slot, peerId, dataChannels);
    } catch (error) {
      if (slot.router.closed) throw new RouterLost();
      throw error;
    }
    const [sendTransport, recvTransport] = transports;
    const peer = new Peer(peerId, displayName, role(), rtpCapabilities, sendTransport, recvTransport, session, dataChannels);
    peer.banKeys = banKeys;
    if (continues) peer.joinedAt = continues.joinedAt;
    // The room may have closed, filled up or lost that router while the transports were created.
    if (this.closed || this.peers.size >= this.options.maxPeers || slot.router.closed) {
      peer.close();
      if (this.peers.size >= this.options.maxPeers) throw new ConclaveError('ROOM_FULL', `Room ${this.id} is full (${this.options.maxPeers} participants)`);
      if (this.closed) throw new ConclaveError('UNAVAILABLE', 'The room was closed; try again');
      throw new RouterLost();
    }
    // Someone moving here from a stopping node was known here as a participant there: now they are ours.
    this.remote.delete(peerId);
    this.broadcast('participantJoined', peer.info);
    this.peers.set(peerId, peer);
    this.routerSet.seat(peer, slot);
    this.log.info({ peer: peerId, name: displayName, peers: this.peers.size, worker: slot.host.index }, 'participant joined');
    this.emit('joined', peer);
    return peer;
  }

  /**
   * Seats a receive-only observer (no data channels, no announcement) and gives it a consumer of
   * everything published now; later producers reach it like everyone else.
   */
  async observe(params: Pick<JoinParams, 'displayName' | 'rtpCapabilities' | 'session'>): Promise<Peer> {
    await this.settled;
    if (this.closed) throw new ConclaveError('UNAVAILABLE', 'The room was closed');
    const slot = await this.routerSet.place();
    const peerId = randomUUID();
    const [sendTransport, recvTransport] = await this.routerSet.createTransports(slot, peerId, false);
    const observer = new Peer(peerId, params.displayName, 'participant', params.rtpCapabilities, sendTransport, recvTransport, params.session);
    if (this.closed || slot.router.closed) {
      observer.close();
      throw new ConclaveError('UNAVAILABLE', 'The room was closed');
    }
    this.observers.set(peerId, observer);
    this.routerSet.seat(observer, slot);
    const pending: Promise<void>[] = [];
    for (const peer of this.peers.values()) {
      for (const producer of peer.producers.values()) pending.push(consume(this.fanout, observer, producer));
    }
    for (const producer of this.remoteProducers.values()) pending.push(consume(this.fanout, observer, producer));
    await Promise.all(pending);
    return observer;
  }

  unobserve(observer: Peer): void {
    if (!this.observers.delete(observer.id)) return;
    observer.close();
    this.routerSet.unseat(observer);
  }

  /** The home router died: the active speaker observer moves to a live router, with every microphone. */
  private async newHome(waitMs: number): Promise<void> {
    await this.routerSet.newHome(waitMs);
    await this.speakers.moveHome(this.peers.values());
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
      for (const producer of other.producers.values()) pending.push(consume(this.fanout, peer, producer));
    }
    for (const producer of this.remoteProducers.values()) pending.push(consume(this.fanout, peer, producer));
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
    this.emit('left', peer);
    if (this.peers.size === 0) this.close();
  }

  async produce(peer: Peer, request: ProduceRequest): Promise<types.Producer<ProducerAppData>> {
    const transport = peer.transport(request.transportId);
    if (transport.appData.direction !== 'send') {
      throw new ConclaveError('FORBIDDEN', 'Produce on your send transport');
    }
    if (request.source === 'screen' && !this.permits(peer, 'screenShare')) {
      throw new ConclaveError('FORBIDDEN', 'Only hosts and moderators may share their screen in this room');
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
      if (other !== peer) void consume(this.fanout, other, producer);
    }
    for (const observer of this.observers.values()) void consume(this.fanout, observer, producer);
    this.log.debug({ peer: peer.id, producer: producer.id, source: request.source }, 'producing');
    this.emit('produced', producer);
    if (request.source === 'mic') await this.speakers.add(peer, producer);
    return producer;
  }

  /** Tells everyone in the room but `except`, on this node and (through the cluster) on the room's other nodes. */
  broadcast<K extends keyof Notifications>(event: K, payload: Notifications[K], except?: Peer): void {
    this.notifyHere(event, payload, except);
    if (!NODE_LOCAL_NOTICES.has(event)) this.emit('announced', { event, payload } as RoomNotice);
  }

  private notifyHere<K extends keyof Notifications>(event: K, payload: Notifications[K], except?: Peer): void {
    for (const peer of this.peers.values()) {
      if (peer !== except) peer.notify(event, payload);
    }
    for (const observer of this.observers.values()) observer.notify(event, payload);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.data.close();
    const present = [...this.peers.values()];
    this.peers.clear();
    for (const peer of present) {
      peer.close();
      this.emit('left', peer);
    }
    for (const observer of this.observers.values()) observer.close();
    this.observers.clear();
    this.routerSet.close();
    this.log.info('room closed');
    this.emit('closed');
  }
}
