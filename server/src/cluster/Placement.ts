import type { Redis } from 'ioredis';
import { ConclaveError } from '../../../shared/errors.js';
import type { NodeInfo, NodeRegistry } from './NodeRegistry.js';
import { directoryCall } from './redis.js';
import type { RoomDirectory } from './RoomDirectory.js';

/** How long a placement decision for a room nobody has joined yet holds, so concurrent first joins agree. */
const CLAIM_MS = 15_000;

const claimKey = (roomId: string): string => `claim:${roomId}`;

/**
 * The least-loaded node that takes new rooms: fewest consumers per live worker, then lowest CPU,
 * then the id, so every node computes the same answer from the same list. Undefined when none.
 */
export function leastLoaded(nodes: readonly NodeInfo[]): NodeInfo | undefined {
  const candidates = nodes.filter((node) => node.accepting && node.load.workers > 0);
  const perWorker = (node: NodeInfo): number => node.load.consumers / node.load.workers;
  return candidates.sort((a, b) => perWorker(a) - perWorker(b) || a.load.cpu - b.load.cpu || a.id.localeCompare(b.id))[0];
}

/**
 * Where a room lives: a room already open somewhere stays there (its node with the most
 * participants); a new one goes to the least-loaded node, and that choice is claimed in Redis for
 * a moment so two first joins arriving at different nodes pick the same one.
 */
export class Placement {
  constructor(
    private readonly redis: Redis,
    private readonly registry: NodeRegistry,
    private readonly directory: RoomDirectory,
  ) {}

  /** The node a newcomer to `roomId` should join. Throws ClusterUnavailableError when Redis is away, UNAVAILABLE when no node takes rooms. */
  async place(roomId: string): Promise<NodeInfo> {
    const [hosting] = await this.directory.hosts(roomId);
    if (hosting) return hosting.node;
    const live = await this.registry.live();
    const byId = new Map(live.map((node) => [node.id, node]));
    const claimed = await directoryCall('placing the room', () => this.redis.get(claimKey(roomId)));
    const holder = claimed === null ? undefined : byId.get(claimed);
    if (holder?.accepting) return holder;
    const best = leastLoaded(live);
    if (!best) throw new ConclaveError('UNAVAILABLE', 'No node of the cluster takes new rooms right now; try again shortly');
    // Whoever claims first wins; everyone else takes the winner (unless it has just gone).
    const won = await directoryCall('placing the room', () =>
      claimed === null ? this.redis.set(claimKey(roomId), best.id, 'PX', CLAIM_MS, 'NX') : this.redis.set(claimKey(roomId), best.id, 'PX', CLAIM_MS),
    );
    if (won === 'OK') return best;
    const winner = await directoryCall('placing the room', () => this.redis.get(claimKey(roomId)));
    return (winner === null ? undefined : byId.get(winner)) ?? best;
  }
}
