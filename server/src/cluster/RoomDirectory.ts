import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { NodeInfo, NodeRegistry } from './NodeRegistry.js';
import { directoryCall } from './redis.js';

/** Which nodes host a room, and how many of its participants each has. */
export interface RoomHost {
  node: NodeInfo;
  participants: number;
}

/** Field per node: its participant count in that room. */
const roomKey = (roomId: string): string => `room:${roomId}`;
/** The rooms a node has written itself into, so its entries can be found when it goes. */
const nodeRoomsKey = (nodeId: string): string => `node:${nodeId}:rooms`;

/**
 * The cluster's directory of rooms. Each node writes its own rooms (participants per room); an
 * entry is believed only while its node's heartbeat lives, so a killed node's rooms vanish with it,
 * and every node that sees a node go clears that node's entries. What this node hosts is kept here
 * too, and written again at every heartbeat, so a restarted Redis learns it again by itself.
 */
export class RoomDirectory {
  /** This node's rooms and participant counts: the truth the Redis entries are copied from. */
  private readonly own = new Map<string, number>();
  /** Per room, whether this node's latest removal of its entry left the room in no node's entry. */
  private readonly removals = new Map<string, Promise<boolean>>();
  /** Writes in order, so a quick join-then-leave never lands as a join. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly registry: NodeRegistry,
    private readonly log: Logger,
  ) {
    // Written again at every heartbeat: a restarted Redis forgot them, and another node may have
    // cleared them after seeing this node's key lapse for a moment.
    registry.on('renewed', () => void this.republish());
    registry.on('nodeDown', (nodeId) => {
      if (nodeId !== registry.nodeId) void this.forget(nodeId);
    });
  }

  /** Clears what an earlier run of this node id left behind (a restart with a fixed NODE_ID). */
  async start(): Promise<void> {
    await this.forget(this.registry.nodeId);
  }

  /**
   * This node now has `participants` in the room (0: none, the entry goes). Never throws: with Redis
   * away the count is kept here and written when it is back.
   */
  record(roomId: string, participants: number): void {
    if (participants > 0) this.own.set(roomId, participants);
    else this.own.delete(roomId);
    const self = this.registry.nodeId;
    const written = this.writing.then(() =>
      directoryCall('updating the room directory', () =>
        participants > 0
          ? this.redis.multi().hset(roomKey(roomId), self, participants).sadd(nodeRoomsKey(self), roomId).exec()
          : this.redis.multi().hdel(roomKey(roomId), self).srem(nodeRoomsKey(self), roomId).hlen(roomKey(roomId)).exec(),
      ),
    );
    if (participants === 0) {
      // Removed and counted in one step: of several nodes leaving a room at once, exactly one sees none
      // left. A second removal (nothing left to remove) defers to the one that removed the entry.
      const previous = this.removals.get(roomId);
      const mine = written.then(
        (replies): boolean | undefined => (replies?.[0]?.[1] === 1 ? replies[2]?.[1] === 0 : undefined),
        () => true,
      );
      this.removals.set(
        roomId,
        mine.then(async (last) => last ?? (await previous) ?? false),
      );
    } else {
      this.removals.delete(roomId);
    }
    this.writing = written.catch((error: unknown) =>
      this.log.warn({ err: error, room: roomId }, 'room directory not updated; written again when Redis is back'),
    );
  }

  /**
   * Whether this node's leaving the room (its entry removed) left no node in it: true for exactly
   * one of several nodes leaving together; true too when Redis could not be asked (at least once).
   */
  async leftLast(roomId: string): Promise<boolean> {
    const removal = this.removals.get(roomId);
    const last = (await removal) ?? false;
    if (this.removals.get(roomId) === removal) this.removals.delete(roomId);
    return last;
  }

  /** The live nodes hosting this room, most participants first. Throws ClusterUnavailableError when Redis is away. */
  async hosts(roomId: string): Promise<RoomHost[]> {
    const entries = await directoryCall('finding the room', () => this.redis.hgetall(roomKey(roomId)));
    const live = new Map((await this.registry.live()).map((node) => [node.id, node]));
    const hosts: RoomHost[] = [];
    const stale: string[] = [];
    for (const [nodeId, count] of Object.entries(entries)) {
      const node = live.get(nodeId);
      if (node) hosts.push({ node, participants: Number(count) });
      else stale.push(nodeId);
    }
    if (stale.length > 0) void directoryCall('tidying the room directory', () => this.redis.hdel(roomKey(roomId), ...stale)).catch(() => undefined);
    return hosts.sort((a, b) => b.participants - a.participants || a.node.id.localeCompare(b.node.id));
  }

  /** Rooms this node hosts, with its participants in each. */
  local(): ReadonlyMap<string, number> {
    return this.own;
  }

  /** Writes every room of this node again. */
  async republish(): Promise<void> {
    const self = this.registry.nodeId;
    this.writing = this.writing
      .then(() =>
        directoryCall("republishing this node's rooms", () => {
          const rooms = [...this.own];
          if (rooms.length === 0) return Promise.resolve(null);
          const batch = this.redis.multi();
          for (const [roomId, count] of rooms) batch.hset(roomKey(roomId), self, count).sadd(nodeRoomsKey(self), roomId);
          return batch.exec();
        }),
      )
      .catch((error: unknown) => this.log.warn({ err: error }, "could not write this node's rooms again; next time Redis is back"));
    await this.writing;
  }

  /** Takes a node's entries out of every room it had written itself into. */
  async forget(nodeId: string): Promise<void> {
    try {
      const rooms = await directoryCall('tidying the room directory', () => this.redis.smembers(nodeRoomsKey(nodeId)));
      const batch = this.redis.multi();
      for (const roomId of rooms) batch.hdel(roomKey(roomId), nodeId);
      batch.del(nodeRoomsKey(nodeId));
      await directoryCall('tidying the room directory', () => batch.exec());
    } catch (error) {
      this.log.warn({ err: error, node: nodeId }, "could not clear a departed node's rooms; readers skip them anyway");
    }
  }

  /** Waits for the writes made so far (tests, shutdown). */
  async flush(): Promise<void> {
    await this.writing;
  }
}
