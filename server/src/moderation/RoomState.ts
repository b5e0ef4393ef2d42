import { DEFAULT_POLICY, type Knock, type RoomPolicy } from '../../../shared/moderation.js';
import type { Role } from '../../../shared/roles.js';

/**
 * A room's shared meeting state: roles, rules (lock, permissions), raised hands, bans and who
 * waits in the lobby. Behind this interface so that several nodes can share it (Redis); the
 * in-memory store serves one node. Every method is asynchronous for that reason, and each one is
 * a single step a shared store can do atomically.
 */
export interface RoomStateStore {
  policy(roomId: string): Promise<RoomPolicy>;
  updatePolicy(roomId: string, patch: Partial<RoomPolicy>): Promise<RoomPolicy>;
  setRole(roomId: string, peerId: string, role: Role): Promise<void>;
  roles(roomId: string): Promise<Map<string, Role>>;
  /** Raises a hand; a hand already up keeps its place. Returns when it went up. */
  raiseHand(roomId: string, peerId: string, at: number): Promise<number>;
  /** False when it was not up. */
  lowerHand(roomId: string, peerId: string): Promise<boolean>;
  /** Lowers every hand; returns whose were up. */
  lowerAllHands(roomId: string): Promise<string[]>;
  ban(roomId: string, keys: string[]): Promise<void>;
  isBanned(roomId: string, keys: string[]): Promise<boolean>;
  addKnock(roomId: string, knock: Knock): Promise<void>;
  removeKnock(roomId: string, knockId: string): Promise<boolean>;
  knocks(roomId: string): Promise<Knock[]>;
  /** A participant left: their role and hand go. */
  forget(roomId: string, peerId: string): Promise<void>;
  /** The room closed: everything about it goes (bans last until then). */
  clear(roomId: string): Promise<void>;
}

interface MemoryRoom {
  policy: RoomPolicy;
  roles: Map<string, Role>;
  hands: Map<string, number>;
  bans: Set<string>;
  knocks: Map<string, Knock>;
}

/** One node's rooms, in memory. */
export class MemoryRoomState implements RoomStateStore {
  private readonly rooms = new Map<string, MemoryRoom>();

  private room(roomId: string): MemoryRoom {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { policy: { ...DEFAULT_POLICY }, roles: new Map(), hands: new Map(), bans: new Set(), knocks: new Map() };
      this.rooms.set(roomId, room);
    }
    return room;
  }

  policy(roomId: string): Promise<RoomPolicy> {
    return Promise.resolve({ ...this.room(roomId).policy });
  }

  updatePolicy(roomId: string, patch: Partial<RoomPolicy>): Promise<RoomPolicy> {
    const room = this.room(roomId);
    room.policy = { ...room.policy, ...withoutUndefined(patch) };
    return Promise.resolve({ ...room.policy });
  }

  setRole(roomId: string, peerId: string, role: Role): Promise<void> {
    this.room(roomId).roles.set(peerId, role);
    return Promise.resolve();
  }

  roles(roomId: string): Promise<Map<string, Role>> {
    return Promise.resolve(new Map(this.room(roomId).roles));
  }

  raiseHand(roomId: string, peerId: string, at: number): Promise<number> {
    const hands = this.room(roomId).hands;
    const raised = hands.get(peerId);
    if (raised !== undefined) return Promise.resolve(raised);
    hands.set(peerId, at);
    return Promise.resolve(at);
  }

  lowerHand(roomId: string, peerId: string): Promise<boolean> {
    return Promise.resolve(this.room(roomId).hands.delete(peerId));
  }

  lowerAllHands(roomId: string): Promise<string[]> {
    const hands = this.room(roomId).hands;
    const raised = [...hands.keys()];
    hands.clear();
    return Promise.resolve(raised);
  }

  ban(roomId: string, keys: string[]): Promise<void> {
    const bans = this.room(roomId).bans;
    for (const key of keys) bans.add(key);
    return Promise.resolve();
  }

  isBanned(roomId: string, keys: string[]): Promise<boolean> {
    const bans = this.rooms.get(roomId)?.bans;
    return Promise.resolve(bans !== undefined && keys.some((key) => bans.has(key)));
  }

  addKnock(roomId: string, knock: Knock): Promise<void> {
    this.room(roomId).knocks.set(knock.id, { ...knock });
    return Promise.resolve();
  }

  removeKnock(roomId: string, knockId: string): Promise<boolean> {
    return Promise.resolve(this.rooms.get(roomId)?.knocks.delete(knockId) ?? false);
  }

  knocks(roomId: string): Promise<Knock[]> {
    return Promise.resolve([...(this.rooms.get(roomId)?.knocks.values() ?? [])].map((knock) => ({ ...knock })));
  }

  forget(roomId: string, peerId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    room?.roles.delete(peerId);
    room?.hands.delete(peerId);
    return Promise.resolve();
  }

  clear(roomId: string): Promise<void> {
    this.rooms.delete(roomId);
    return Promise.resolve();
  }
}

function withoutUndefined<T extends object>(patch: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}
