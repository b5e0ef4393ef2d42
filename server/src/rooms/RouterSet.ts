import type { types } from 'mediasoup';
import { MAX_SCTP_MESSAGE_BYTES, SCTP_SEND_BUFFER_BYTES } from '../../../shared/data.js';
import type { Logger } from '../logger.js';
import type { PoolWorker } from '../media/WorkerPool.js';
import type { Peer, TransportAppData, TransportDirection } from './Peer.js';

/** Where a room's routers come from, and when a worker is too busy to take more of its participants. */
export interface RouterPlacement {
  /** A router on the least-loaded live worker (waiting up to `waitMs` for a replacement if none is live). */
  createRouter(waitMs?: number): Promise<{ router: types.Router; host: PoolWorker }>;
  /** A router on a live worker outside `avoid`, or undefined when there is none. */
  createRouterElsewhere(avoid: ReadonlySet<number>): Promise<{ router: types.Router; host: PoolWorker } | undefined>;
  isBusy(host: PoolWorker): boolean;
}

/** One of the room's routers, on one worker, with the participants whose transports live there. */
export interface RouterSlot {
  router: types.Router;
  host: PoolWorker;
  peers: Set<Peer>;
}

/**
 * The routers one room spans. It starts on one (the home router); when that worker gets busy,
 * newcomers go to a router on another worker and media crosses with pipeToRouter, so one room can
 * use every core. Which participant sits on which router, and which pipes exist, live here.
 */
export class RouterSet {
  private readonly slots: RouterSlot[] = [];
  private readonly seats = new Map<Peer, RouterSlot>();
  /** Hosts the room's data plane and active speaker observer. Kept while the room lives. */
  private homeSlot: RouterSlot;
  /** Pipes made, by `${producerId or dataProducerId}>${routerId}`, so each producer crosses to a router once. */
  private readonly pipes = new Map<string, Promise<void>>();
  /** Serialises placement so concurrent joins do not each open a new router. */
  private placing: Promise<unknown> = Promise.resolve();

  constructor(
    home: { router: types.Router; host: PoolWorker },
    private readonly placement: RouterPlacement,
    private readonly initialOutgoingBitrate: number,
    private readonly log: Logger,
    /** A router's worker died: the room moves that router's participants. */
    private readonly onWorkerClose: (slot: RouterSlot) => void,
  ) {
    this.homeSlot = this.addSlot(home);
  }

  get home(): RouterSlot {
    return this.homeSlot;
  }

  /** Every router, with its worker and participants (tests, metrics). */
  describe(): { router: types.Router; host: PoolWorker; peerIds: string[] }[] {
    return this.slots.map((slot) => ({ router: slot.router, host: slot.host, peerIds: [...slot.peers].map((peer) => peer.id) }));
  }

  slotOf(peer: Peer): RouterSlot | undefined {
    return this.seats.get(peer);
  }

  /** The first router whose worker has room; else a router on a worker the room does not use yet; else the least busy. */
  place(waitMs?: number): Promise<RouterSlot> {
    const placed = this.placing.then(async () => {
      const open = this.slots.find((slot) => !slot.router.closed && !this.placement.isBusy(slot.host));
      if (open) return open;
      const live = this.slots.filter((slot) => !slot.router.closed);
      const fresh = await this.placement.createRouterElsewhere(new Set(live.map((slot) => slot.host.index)));
      if (fresh) {
        this.log.info({ worker: fresh.host.index, routers: this.slots.length + 1 }, 'room spreads to another worker');
        return this.addSlot(fresh);
      }
      // Every router is busy (or dead, as when all workers died together): the least busy live one, else a new one.
      if (live.length > 0) return live.reduce((best, slot) => (slot.host.consumers < best.host.consumers ? slot : best));
      return this.addSlot(await this.placement.createRouter(waitMs));
    });
    this.placing = placed.catch(() => undefined);
    return placed;
  }

  seat(peer: Peer, slot: RouterSlot): void {
    slot.peers.add(peer);
    this.seats.set(peer, slot);
  }

  /** The participant left; a router nobody uses any more goes, and its pipe transports with it. */
  unseat(peer: Peer): void {
    const slot = this.seats.get(peer);
    this.seats.delete(peer);
    slot?.peers.delete(peer);
    if (slot && slot !== this.homeSlot && slot.peers.size === 0 && this.slots.includes(slot)) this.closeSlot(slot);
  }

  /** Forgets a router whose worker died; false when it was already forgotten. */
  drop(dead: RouterSlot): boolean {
    if (!this.slots.includes(dead)) return false;
    this.slots.splice(this.slots.indexOf(dead), 1);
    return true;
  }

  /** The home router died: another live router (or a new one) becomes home. */
  async newHome(waitMs?: number): Promise<RouterSlot> {
    this.homeSlot = this.slots.find((slot) => !slot.router.closed) ?? this.addSlot(await this.placement.createRouter(waitMs));
    return this.homeSlot;
  }

  get count(): number {
    return this.slots.length;
  }

  /** A participant's two transports on `slot`'s router; with SCTP when it wants data channels. */
  createTransports(
    slot: RouterSlot,
    peerId: string,
    dataChannels: boolean,
  ): Promise<[types.WebRtcTransport<TransportAppData>, types.WebRtcTransport<TransportAppData>]> {
    return Promise.all([this.createTransport(slot, peerId, 'send', dataChannels), this.createTransport(slot, peerId, 'recv', dataChannels)]);
  }

  /** Makes a producer or data producer (on `from`) available on `to`, once. */
  pipe(source: { producerId: string } | { dataProducerId: string }, from: types.Router, to: types.Router): Promise<void> {
    const key = `${'producerId' in source ? source.producerId : source.dataProducerId}>${to.id}`;
    let piped = this.pipes.get(key);
    if (!piped) {
      piped = from.pipeToRouter({ ...source, router: to }).then(({ pipeProducer, pipeDataProducer }) => {
        const forget = (): void => {
          this.pipes.delete(key);
        };
        pipeProducer?.observer.on('close', forget);
        pipeDataProducer?.observer.on('close', forget);
      });
      this.pipes.set(key, piped);
      piped.catch(() => this.pipes.delete(key));
    }
    return piped;
  }

  close(): void {
    this.seats.clear();
    for (const slot of this.slots.splice(0)) slot.router.close();
    this.pipes.clear();
  }

  private addSlot({ router, host }: { router: types.Router; host: PoolWorker }): RouterSlot {
    const slot: RouterSlot = { router, host, peers: new Set() };
    this.slots.push(slot);
    router.on('workerclose', () => this.onWorkerClose(slot));
    return slot;
  }

  private closeSlot(slot: RouterSlot): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    slot.router.close();
    for (const key of this.pipes.keys()) if (key.endsWith(`>${slot.router.id}`)) this.pipes.delete(key);
  }

  private createTransport(
    slot: RouterSlot,
    peerId: string,
    direction: TransportDirection,
    dataChannels: boolean,
  ): Promise<types.WebRtcTransport<TransportAppData>> {
    return slot.router.createWebRtcTransport<TransportAppData>({
      webRtcServer: slot.host.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.initialOutgoingBitrate,
      ...(dataChannels
        ? {
            enableSctp: true,
            maxSendMessageSize: MAX_SCTP_MESSAGE_BYTES,
            maxReceiveMessageSize: MAX_SCTP_MESSAGE_BYTES,
            sctpSendBufferSize: SCTP_SEND_BUFFER_BYTES,
            // One stream may take the whole buffer: a file window is one stream's worth.
            sctpPerStreamSendQueueLimit: SCTP_SEND_BUFFER_BYTES,
          }
        : {}),
      appData: { peerId, direction },
    });
  }
}
