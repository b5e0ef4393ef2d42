import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ConclaveError } from '../../../shared/errors.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import { AdminAnswer, AdminCall, type LocalAdmin } from './ClusterAdmin.js';
import { ClusterAuth } from './ClusterAuth.js';
import { ClusterPipes, type PipeSource } from './ClusterPipes.js';
import { InternalApi, InternalClient } from './InternalApi.js';
import { CLUSTER_PROTOCOL, NodeRegistry, type NodeInfo, type NodeLoad } from './NodeRegistry.js';
import { Placement } from './Placement.js';
import { connectRedis, firstConnect, isAuthFailure } from './redis.js';
import { RoomDirectory } from './RoomDirectory.js';
import { MoveTickets, type Move } from './MoveTickets.js';
import { RoomSpans } from './RoomSpan.js';
import type { Peer } from '../rooms/Peer.js';
import type { Room } from '../rooms/Room.js';
import { ModerationCall } from '../moderation/targetActions.js';

/** This node's view of the cluster, for /metrics. */
export interface ClusterStats {
  redisUp: boolean;
  nodes: number;
  pipes: { incoming: number; outgoing: number };
}

/** What a node needs to join a cluster: from the configuration (`clusterSettings`), or set directly by tests. */
export interface ClusterSettings {
  redisUrl: string;
  nodeId: string;
  secret: string;
  internalIp: string;
  /** The internal API's port (0: any free one). */
  internalPort: number;
  pipePorts: { min: number; max: number };
  publicUrl: string;
  ttlMs: number;
  version: string;
  /** A join reaching a node the room is not on is taken there (the room spans nodes), rather than redirected to the room's node. */
  spanRooms: boolean;
}

export interface ClusterDeps {
  /** This node's load now (NodeLoadSampler over the worker pool). */
  load: () => NodeLoad;
  /** A producer of a room on this node, for pipes other nodes ask for. */
  findProducer: (roomId: string, producerId: string) => PipeSource | undefined;
  /** When given, each room's participant count on this node goes into the directory, and a full node (MAX_ROOMS) takes no new rooms. */
  rooms?: RoomRegistry;
  log: Logger;
}

export function clusterSettings(config: Config, version: string): ClusterSettings | undefined {
  const { REDIS_URL, CLUSTER_SECRET, INTERNAL_IP, PUBLIC_URL } = config;
  // The configuration refuses REDIS_URL without the others; this only narrows the types.
  if (!REDIS_URL || !CLUSTER_SECRET || !INTERNAL_IP || !PUBLIC_URL) return undefined;
  return {
    redisUrl: REDIS_URL,
    nodeId: config.NODE_ID,
    secret: CLUSTER_SECRET,
    internalIp: INTERNAL_IP,
    internalPort: config.INTERNAL_PORT,
    pipePorts: { min: config.PIPE_PORT_MIN, max: config.PIPE_PORT_MAX },
    publicUrl: PUBLIC_URL,
    ttlMs: config.CLUSTER_NODE_TTL_SECONDS * 1000,
    version,
    spanRooms: config.CLUSTER_SPAN_ROOMS,
  };
}

/** The producer `producerId` in room `roomId` of this node, and the router its owner's transports are on. */
export function producerIn(rooms: RoomRegistry): (roomId: string, producerId: string) => PipeSource | undefined {
  return (roomId, producerId) => {
    const room = rooms.get(roomId);
    if (!room) return undefined;
    for (const peer of room.peers.values()) {
      const producer = peer.producers.get(producerId);
      const slot = producer && room.routers.find((candidate) => candidate.peerIds.includes(peer.id));
      if (producer && slot) return { router: slot.router, producer };
    }
    return undefined;
  };
}

/**
 * This node as a member of a cluster (REDIS_URL): its Redis connection, its entry in the node
 * registry, the room directory, placement, the internal API other nodes call, and the media pipes
 * between nodes. Made once by the server when REDIS_URL is set; without it none of this exists.
 */
export class Cluster {
  private closing: Promise<void> | undefined;
  /** Rooms spanning nodes (with `rooms` in the deps and CLUSTER_SPAN_ROOMS on). */
  spans: RoomSpans | undefined;
  /** A stopping node's participants continue on others with these (rooms spanning nodes). */
  private readonly tickets: MoveTickets;

  private constructor(
    readonly nodeId: string,
    readonly registry: NodeRegistry,
    readonly directory: RoomDirectory,
    readonly placement: Placement,
    readonly pipes: ClusterPipes,
    /** Where other nodes reach this one's internal API. */
    readonly internal: { ip: string; port: number },
    private readonly api: InternalApi,
    private readonly client: InternalClient,
    private readonly redis: Redis,
    private readonly log: Logger,
    /** Whether this node takes new rooms now (not at MAX_ROOMS). */
    private readonly takesRooms: () => boolean,
    private readonly spanRooms: boolean,
    secret: string,
  ) {
    this.tickets = new MoveTickets(secret);
  }

  /**
   * Joins the cluster. Redis refusing REDIS_URL's credentials stops the start (a mistake to fix);
   * Redis unreachable does not: the node serves its own calls and registers as soon as Redis answers.
   */
  static async start(settings: ClusterSettings, deps: ClusterDeps): Promise<Cluster> {
    const log = deps.log.child({ cluster: settings.nodeId });
    const redis = connectRedis(settings.redisUrl, log);
    const auth = new ClusterAuth(settings.secret);
    const api = new InternalApi(auth, log);
    let registry: NodeRegistry | undefined;
    try {
      await firstConnect(redis);
      const port = await api.listen(settings.internalIp, settings.internalPort);
      const internal = { ip: settings.internalIp, port };
      const self: Omit<NodeInfo, 'load'> = {
        id: settings.nodeId,
        protocol: CLUSTER_PROTOCOL,
        version: settings.version,
        publicUrl: settings.publicUrl,
        internal,
        accepting: true,
        startedAt: Date.now(),
      };
      const rooms = deps.rooms;
      registry = new NodeRegistry(redis, self, deps.load, { ttlMs: settings.ttlMs, log, ...(rooms ? { accepting: () => !rooms.full } : {}) });
      const known = registry;
      const directory = new RoomDirectory(redis, registry, log);
      const client = new InternalClient(auth, settings.nodeId);
      const pipes = new ClusterPipes(api, client, {
        listenIp: settings.internalIp,
        portRange: settings.pipePorts,
        findProducer: deps.findProducer,
        // A node that registered a moment ago may not be in our last list yet: ask Redis then.
        findNode: async (id) => known.known().find((node) => node.id === id) ?? (await known.live().catch(() => [])).find((node) => node.id === id),
        log,
      });
      api.handle('ping', z.object({}), () => ({ node: settings.nodeId, protocol: CLUSTER_PROTOCOL, version: settings.version }));
      registry.on('nodeDown', (nodeId) => pipes.nodeGone(nodeId));
      const takesRooms = (): boolean => !(rooms?.full ?? false);
      const placement = new Placement(redis, registry, directory);
      const cluster = new Cluster(
        settings.nodeId,
        registry,
        directory,
        placement,
        pipes,
        internal,
        api,
        client,
        redis,
        log,
        takesRooms,
        settings.spanRooms,
        settings.secret,
      );
      if (rooms && settings.spanRooms) {
        cluster.spans = new RoomSpans({ nodeId: settings.nodeId, redis, api, client, registry, directory, pipes, rooms, log });
      }
      await directory.start();
      await registry.start().catch((error: unknown) => {
        if (isAuthFailure(error)) throw error;
        log.warn({ err: error }, 'Redis is unreachable: this node serves its own calls and joins the cluster when Redis answers');
      });
      if (deps.rooms) cluster.recordRooms(deps.rooms);
      log.info({ node: settings.nodeId, internal, publicUrl: settings.publicUrl }, 'joined the cluster');
      return cluster;
    } catch (error) {
      await registry?.stop({ deregister: false });
      await api.close().catch(() => undefined);
      redis.disconnect();
      throw isAuthFailure(error) ? new Error(`Redis refused the credentials in REDIS_URL: ${(error as Error).message}`, { cause: error }) : error;
    }
  }

  /**
   * The node a join for `roomId` belongs on, or undefined for this one. A room open here stays here
   * (its calls go on while Redis is away). A room open on other nodes spans to this one too, when
   * rooms span (CLUSTER_SPAN_ROOMS) and this node takes rooms; else the join goes to the room's
   * node. A new room goes where placement puts it: the least-loaded node. Throws UNAVAILABLE
   * (ClusterUnavailableError) when the directory cannot be read.
   */
  async homeOf(roomId: string, { openHere }: { openHere: boolean }): Promise<NodeInfo | undefined> {
    if (openHere) return undefined;
    const hosts = (await this.directory.hosts(roomId)).filter((host) => host.node.id !== this.nodeId);
    if (hosts.length > 0 && this.spanRooms && this.takesRooms()) return undefined;
    const home = await this.placement.place(roomId);
    return home.id === this.nodeId ? undefined : home;
  }

  /** Whether this node's part of a room just opened is the room's first (no participants on other nodes). */
  async opensRoom(room: Room): Promise<boolean> {
    await this.spanReady(room);
    return room.remote.size === 0;
  }

  /**
   * Whether this node's part of a room that just closed was the room's last: its directory entry's
   * removal left none (one atomic step in Redis, so of parts closing together exactly one says yes;
   * yes too when Redis could not be asked, at least once).
   */
  closesRoom(room: Room): Promise<boolean> {
    return this.directory.leftLast(room.id);
  }

  /** Resolves once a room just opened here knows its participants on other nodes (at once without spanning). */
  spanReady(room: Room): Promise<void> {
    return this.spans?.ready(room) ?? Promise.resolve();
  }

  /** Answers other nodes' admin API calls with `local`, this node's own admin API. */
  serveAdmin(local: LocalAdmin): void {
    this.api.handle('admin', AdminCall, (call) => local(call));
  }

  /**
   * This node is stopping: a ticket for each participant of `rooms` to continue in the same place on
   * another node, and the rooms' other nodes told to keep them meanwhile. Empty unless rooms span nodes.
   */
  prepareMoves(rooms: Iterable<Room>): Map<Peer, string> {
    const tickets = new Map<Peer, string>();
    const spans = this.spans;
    if (!spans) return tickets;
    for (const room of rooms) {
      for (const peer of room.peers.values()) {
        tickets.set(peer, this.tickets.issue({ roomId: room.id, peerId: peer.id, displayName: peer.displayName, role: peer.role, joinedAt: peer.joinedAt }));
      }
      spans.announceMoving(room, [...room.peers.keys()]);
    }
    return tickets;
  }

  /**
   * The place a move ticket continues, taken once across the cluster (Redis; this node alone while
   * Redis is away); undefined when it does not check out, and the join is an ordinary one.
   */
  async takeMove(ticket: string, roomId: string): Promise<Move | undefined> {
    const move = this.tickets.take(ticket, roomId);
    if (!move) return undefined;
    const first = await this.redis.set(`move:${move.id}`, this.nodeId, 'PX', Math.max(1, move.expiresAt - Date.now()), 'NX').catch(() => 'OK');
    return first === 'OK' ? move : undefined;
  }

  /** Carries out other nodes' moderation of participants here (a room spanning nodes) with `local`. */
  serveModeration(local: (call: ModerationCall) => Promise<void>): void {
    this.api.handle('moderate', ModerationCall, async (call) => {
      await local(call);
      return {};
    });
  }

  /** Has node `nodeId` carry out a moderation action on a participant there (throws its refusal, or UNAVAILABLE). */
  async moderate(nodeId: string, call: ModerationCall): Promise<void> {
    const node = this.registry.known().find((candidate) => candidate.id === nodeId);
    if (!node) throw new ConclaveError('UNAVAILABLE', 'That participant’s node is not reachable right now; try again shortly');
    await this.client.call(node.internal, 'moderate', call, z.object({}));
  }

  /** Runs an admin API call on another node (throws NodeCallError, UNAVAILABLE when it does not answer). */
  adminOn(node: NodeInfo, call: AdminCall): Promise<AdminAnswer> {
    return this.client.call(node.internal, 'admin', call, AdminAnswer);
  }

  /** The live node hosting `roomId`, when that is not this one. Throws UNAVAILABLE when Redis is away. */
  async hostElsewhere(roomId: string): Promise<NodeInfo | undefined> {
    const [host] = await this.directory.hosts(roomId);
    return host && host.node.id !== this.nodeId ? host.node : undefined;
  }

  /** The other live nodes, from the last heartbeat. */
  otherNodes(): NodeInfo[] {
    return this.registry.known().filter((node) => node.id !== this.nodeId);
  }

  /** The origins of the nodes this one knows (their PUBLIC_URLs): pages served by one may talk to another. */
  nodeOrigins(): string[] {
    return this.nodeUrls().flatMap((url) => (URL.canParse(url) ? [new URL(url).origin] : []));
  }

  /** The public URLs of the live nodes (this one included), for clients to turn to when theirs is gone. */
  nodeUrls(): string[] {
    return this.registry
      .known()
      .map((node) => node.publicUrl)
      .sort();
  }

  /** Calls `listener` with the live nodes' URLs whenever a node comes or goes. */
  onNodesChanged(listener: (urls: string[]) => void): void {
    this.registry.on('nodeUp', () => listener(this.nodeUrls()));
    this.registry.on('nodeDown', () => listener(this.nodeUrls()));
  }

  stats(): ClusterStats {
    return { redisUp: this.registry.redisReachable, nodes: this.registry.known().length, pipes: this.pipes.counts };
  }

  /** Leaves the cluster: pipes closed (the other ends told), entry and rooms removed from Redis, connections closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.spans?.close();
      this.pipes.close();
      await this.registry.stop();
      await this.directory.flush();
      await this.directory.forget(this.nodeId);
      await this.api.close();
      await this.redis.quit().catch(() => this.redis.disconnect());
      this.log.info('left the cluster');
    })();
    return this.closing;
  }

  /** Keeps this node's participant count of every room in the directory. */
  private recordRooms(rooms: RoomRegistry): void {
    rooms.on('created', (room) => {
      // Once leaving the cluster, this node's entries are already gone: nothing to write.
      const update = (): void => void (this.closing ?? this.directory.record(room.id, room.peers.size));
      room.on('joined', update);
      room.on('left', update);
      room.once('closed', () => void (this.closing ?? this.directory.record(room.id, 0)));
    });
  }
}
