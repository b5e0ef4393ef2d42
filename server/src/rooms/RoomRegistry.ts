import { ConclaveError } from '../../../shared/errors.js';
import type { RemovalReason } from '../../../shared/protocol.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';
import { mediaCodecs } from '../media/codecs.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { Peer } from './Peer.js';
import { Room, type RoomOptions } from './Room.js';

export interface RegistryOptions extends RoomOptions {
  maxRooms: number;
  /** Consumers on a worker at which a room spreads its newcomers to another worker. */
  spreadAtConsumers: number;
}

/**
 * Rooms by id. A room is created on first join (on the least-loaded worker) and forgotten when
 * it closes. Concurrent first joins share one creation.
 */
export class RoomRegistry extends TypedEmitter<{ created: [room: Room] }> {
  private readonly rooms = new Map<string, Promise<Room>>();
  /** Rooms whose creation finished, for what must happen in this tick (no await). */
  private readonly open = new Set<Room>();

  constructor(
    private readonly pool: WorkerPool,
    private readonly options: RegistryOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  /** No room more can open here (MAX_ROOMS): in a cluster, new rooms go to other nodes. */
  get full(): boolean {
    return this.rooms.size >= this.options.maxRooms;
  }

  async getOrCreate(roomId: string): Promise<Room> {
    const existing = this.rooms.get(roomId);
    if (existing) {
      const room = await existing;
      if (!room.isClosed) return room;
    }
    if (this.rooms.size >= this.options.maxRooms && !this.rooms.has(roomId)) {
      throw new ConclaveError('TOO_MANY_ROOMS', `This server hosts its maximum of ${this.options.maxRooms} rooms; try again later`);
    }
    const creation = this.create(roomId);
    this.rooms.set(roomId, creation);
    creation.catch(() => {
      if (this.rooms.get(roomId) === creation) this.rooms.delete(roomId);
    });
    return creation;
  }

  /** Open rooms (creation finished), for health and metrics. */
  async list(): Promise<Room[]> {
    const settled = await Promise.allSettled(this.rooms.values());
    return settled.flatMap((result) => (result.status === 'fulfilled' && !result.value.isClosed ? [result.value] : []));
  }

  /** The open rooms now (no await). */
  opened(): Room[] {
    return [...this.open].filter((room) => !room.isClosed);
  }

  /** The open room with this id, now (no await: the admin API acts on what is there). */
  get(roomId: string): Room | undefined {
    for (const room of this.open) if (room.id === roomId && !room.isClosed) return room;
    return undefined;
  }

  /** The room and peer with this id, wherever it is (for a reconnecting client). */
  async findPeer(peerId: string): Promise<{ room: Room; peer: Peer } | undefined> {
    for (const room of await this.list()) {
      const peer = room.peers.get(peerId);
      if (peer) return { room, peer };
    }
    return undefined;
  }

  /**
   * Takes a participant out of its room, telling it why; its client does not rejoin by itself.
   * Synchronous as far as the room goes, so a move in progress skips it. False when not found.
   */
  remove(peerId: string, reason: RemovalReason, message: string): boolean {
    for (const creation of this.open) {
      const peer = creation.peers.get(peerId);
      if (!peer) continue;
      this.log.warn({ room: creation.id, peer: peerId, reason }, 'participant removed');
      peer.notify('removed', { reason, message });
      creation.leave(peer);
      return true;
    }
    return false;
  }

  closeAll(): void {
    for (const creation of this.rooms.values())
      void creation.then(
        (room) => room.close(),
        () => undefined,
      );
    this.rooms.clear();
  }

  private async create(roomId: string): Promise<Room> {
    const { pool, options } = this;
    const room = await Room.create(
      roomId,
      {
        createRouter: (waitMs) => pool.createRouter(mediaCodecs, { roomId }, waitMs),
        createRouterElsewhere: (avoid) => pool.createRouterElsewhere(mediaCodecs, { roomId }, avoid),
        isBusy: (host) => host.consumers >= options.spreadAtConsumers,
      },
      options,
      this.log,
    );
    const creation = this.rooms.get(roomId);
    this.open.add(room);
    room.once('closed', () => {
      this.open.delete(room);
      if (this.rooms.get(roomId) === creation) this.rooms.delete(roomId);
    });
    this.log.info({ room: roomId, worker: room.host.index }, 'room created');
    this.emit('created', room);
    return room;
  }
}
