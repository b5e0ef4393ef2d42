import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';
import { ClusterUnavailableError, directoryCall } from './redis.js';

/**
 * The shape of what nodes tell each other. A node only works with nodes of the same protocol:
 * in a rolling upgrade, nodes of another one are left out of placement and pipes (and logged).
 * 2: rooms span nodes (room channels, `span-state`, `moderate`, move tickets).
 */
export const CLUSTER_PROTOCOL = 2;

/** What a node carries now; placement compares these. */
export interface NodeLoad {
  /** Live mediasoup workers (0: this node cannot take media). */
  workers: number;
  /** Consumers on all its workers, pipes included. */
  consumers: number;
  /** Its workers' CPU use over the last heartbeat, as a fraction of the cores they run on (0-1). */
  cpu: number;
}

/** One live node, as it registered itself. Read from Redis, so checked like any input. */
const NodeInfoSchema = z.object({
  id: z.string().min(1),
  protocol: z.number().int(),
  version: z.string(),
  /** Where browsers reach it. */
  publicUrl: z.string(),
  /** Where other nodes reach its internal API (HTTP) and its media pipes (UDP). */
  internal: z.object({ ip: z.string(), port: z.number().int().min(1).max(65535) }),
  /** False while it drains or shuts down: no new rooms there. */
  accepting: z.boolean(),
  load: z.object({ workers: z.number().min(0), consumers: z.number().min(0), cpu: z.number().min(0) }),
  startedAt: z.number(),
});
export type NodeInfo = z.infer<typeof NodeInfoSchema>;

export interface NodeRegistryOptions {
  /** A node whose key was not renewed for this long disappears by itself (Redis expires it). */
  ttlMs: number;
  /** Renewal period; a third of the TTL leaves two renewals of slack. */
  heartbeatMs?: number;
  /** Whether this node takes new rooms now, read at every heartbeat (default: as registered). */
  accepting?: () => boolean;
  log: Logger;
}

type NodeRegistryEvents = {
  /** A node appeared in the list (this node included, at its first heartbeat). */
  nodeUp: [node: NodeInfo];
  /** A node left: it stopped cleanly or its key expired. Pipes and directory entries with it go. */
  nodeDown: [nodeId: string];
  /** Redis could not be reached for a heartbeat: the last known list is kept. */
  redisDown: [];
  /** A heartbeat succeeded again after Redis trouble. */
  redisUp: [];
  /** Each successful heartbeat: what this node alone knows (its rooms) can be written again. */
  renewed: [];
};

const nodeKey = (id: string): string => `node:${id}`;
/** Ids of nodes that registered; an id whose key expired is dropped from it when the list is read. */
const NODES = 'nodes';

/**
 * This node's entry in Redis and the list of live nodes. Each node renews a key with a TTL; a node
 * killed without a word stops renewing, and Redis forgets it after the TTL (no other node has to
 * notice or clean up). The list is read at every heartbeat, and changes come out as events.
 */
export class NodeRegistry extends TypedEmitter<NodeRegistryEvents> {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private lastKnown = new Map<string, NodeInfo>();
  private reachable = true;
  /** Until then, nodes missing from the list are kept (see `beat`). */
  private graceUntil = 0;
  private stopped = false;
  private readonly heartbeatMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly self: Omit<NodeInfo, 'load'>,
    private readonly load: () => NodeLoad,
    private readonly options: NodeRegistryOptions,
  ) {
    super();
    this.heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(options.ttlMs / 3));
  }

  get nodeId(): string {
    return this.self.id;
  }

  /** Whether the last heartbeat reached Redis. */
  get redisReachable(): boolean {
    return this.reachable;
  }

  /** Registers and starts the heartbeat. Throws when the first registration fails (the caller decides whether to go on). */
  async start(): Promise<void> {
    try {
      await this.beat(true);
    } finally {
      this.schedule();
    }
  }

  /**
   * The live nodes of this cluster's protocol, from Redis now. Throws ClusterUnavailableError when
   * Redis cannot be reached.
   */
  async live(): Promise<NodeInfo[]> {
    return (await this.readAll()).filter((node) => node.protocol === CLUSTER_PROTOCOL);
  }

  /** The nodes seen at the last successful heartbeat (no Redis round trip; kept while Redis is away). */
  known(): NodeInfo[] {
    return [...this.lastKnown.values()];
  }

  /** Whether `id` is a live node now (from the last heartbeat). */
  isKnown(id: string): boolean {
    return this.lastKnown.has(id);
  }

  /** Stops renewing. With `deregister`, the entry goes at once; without, it expires as a killed node's would (tests). */
  async stop({ deregister = true }: { deregister?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    if (!deregister) return;
    await directoryCall('leaving the cluster', () => this.redis.multi().del(nodeKey(this.self.id)).srem(NODES, this.self.id).exec()).catch((error: unknown) =>
      this.options.log.warn({ err: error }, 'could not remove this node from Redis; it expires by itself'),
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat(false).catch(() => undefined);
      void this.beating.then(() => this.schedule());
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Renews our key, then reads the list and reports who came and went. */
  private async beat(first: boolean): Promise<void> {
    const entry: NodeInfo = { ...this.self, accepting: this.options.accepting?.() ?? this.self.accepting, load: this.load() };
    try {
      await directoryCall('registering this node', () =>
        this.redis.multi().set(nodeKey(entry.id), JSON.stringify(entry), 'PX', this.options.ttlMs).sadd(NODES, entry.id).exec(),
      );
      const nodes = await this.readAll();
      if (!this.reachable) {
        // A Redis that restarted empty lists the nodes as they register again, one heartbeat after
        // another: nobody is declared gone (and their pipes closed) before each had a TTL to do so.
        this.graceUntil = Date.now() + this.options.ttlMs;
      }
      this.update(nodes);
    } catch (error) {
      if (this.reachable) {
        this.reachable = false;
        this.options.log.warn({ err: error }, 'heartbeat could not reach Redis; running calls go on, the node list is kept as it was');
        this.emit('redisDown');
      }
      if (first || !(error instanceof ClusterUnavailableError)) throw error;
      return;
    }
    if (!this.reachable) {
      this.reachable = true;
      this.options.log.info('heartbeat reaches Redis again');
      this.emit('redisUp');
    }
    this.emit('renewed');
  }

  private update(nodes: NodeInfo[]): void {
    const next = new Map(nodes.filter((node) => node.protocol === CLUSTER_PROTOCOL).map((node) => [node.id, node]));
    for (const node of nodes) {
      if (node.protocol !== CLUSTER_PROTOCOL && !this.lastKnown.has(node.id)) {
        this.options.log.warn({ node: node.id, protocol: node.protocol, ours: CLUSTER_PROTOCOL }, 'a node of another cluster protocol is left out');
      }
    }
    const previous = this.lastKnown;
    if (Date.now() < this.graceUntil) for (const [id, node] of previous) if (!next.has(id)) next.set(id, node);
    this.lastKnown = next;
    for (const [id, node] of next) if (!previous.has(id)) this.emit('nodeUp', node);
    for (const id of previous.keys()) if (!next.has(id)) this.emit('nodeDown', id);
  }

  private async readAll(): Promise<NodeInfo[]> {
    return directoryCall('listing the nodes', async () => {
      const ids = await this.redis.smembers(NODES);
      if (ids.length === 0) return [];
      const values = await this.redis.mget(ids.map(nodeKey));
      const gone = ids.filter((_, index) => values[index] === null);
      // Expired keys leave their id behind in the set: tidy it as we go.
      if (gone.length > 0) await this.redis.srem(NODES, ...gone);
      return values.flatMap((value) => {
        const parsed = value === null ? undefined : NodeInfoSchema.safeParse(parseJson(value));
        if (parsed && !parsed.success) this.options.log.warn({ entry: value }, 'a node entry in Redis is not understood; left out');
        return parsed?.success ? [parsed.data] : [];
      });
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
