import type { Redis } from 'ioredis';
import type { types } from 'mediasoup';
import { z } from 'zod';
import { DATA_LABELS } from '../../../shared/data.js';
import type { ParticipantInfo } from '../../../shared/protocol.js';
import { Role } from '../../../shared/roles.js';
import type { RoomPost } from '../data/DataHub.js';
import type { Logger } from '../logger.js';
import type { ProducerAppData } from '../rooms/Peer.js';
import type { Room, RoomNotice } from '../rooms/Room.js';
import type { RoomRegistry } from '../rooms/RoomRegistry.js';
import type { ClusterPipes } from './ClusterPipes.js';
import type { InternalApi, InternalClient } from './InternalApi.js';
import type { NodeInfo, NodeRegistry } from './NodeRegistry.js';
import { KEY_PREFIX } from './redis.js';
import type { RoomDirectory } from './RoomDirectory.js';

/** How often each node compares its view of a spanned room with the other nodes' own accounts. */
const RECONCILE_MS = 5000;
/** Someone heard of this recently is not dropped by a reconciliation that may have crossed their join. */
const RECENT_MS = 3000;
/** How long a departure is remembered, so an account taken before it cannot bring them back. */
const DEPARTED_MS = 60_000;
/** The first look at the other nodes' part of a room waits at most this before the join goes on. */
const FIRST_LOOK_MS = 4000;
/** How long the others keep the participants of a stopping node who are on their way to another. */
const MOVE_HOLD_MS = 20_000;

/** Pub/sub channels are not keys: ioredis does not prefix them, so the cluster's prefix is written here. */
const channelOf = (roomId: string): string => `${KEY_PREFIX}span:${roomId}`;

const Participant = z.object({
  id: z.string().min(1).max(64),
  displayName: z.string().max(200),
  joinedAt: z.number(),
  reconnecting: z.boolean(),
  role: Role,
  handRaisedAt: z.number().nullable(),
});
const PublishedProducer = z.object({ id: z.string().min(1).max(64), peerId: z.string().min(1).max(64) });

/** What one node has of a room: its own participants and their producers (never what it heard from others). */
const RoomPart = z.object({ peers: z.array(Participant).max(10_000), producers: z.array(PublishedProducer).max(100_000) });
type RoomPart = z.infer<typeof RoomPart>;

/**
 * What the nodes of a spanned room tell each other on its channel. Between nodes of one cluster
 * (same secret, same Redis) the payloads are this code's own; the envelope and the ids are checked.
 */
const SpanMessage = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('notice'), from: z.string(), notice: z.object({ event: z.string().min(1).max(64), payload: z.unknown() }) }),
  z.object({ kind: z.literal('produced'), from: z.string(), producer: PublishedProducer }),
  z.object({ kind: z.literal('post'), from: z.string(), post: z.object({ label: z.enum(DATA_LABELS), payload: z.unknown() }) }),
  z.object({ kind: z.literal('gone'), from: z.string() }),
  z.object({ kind: z.literal('moving'), from: z.string(), peerIds: z.array(z.string().min(1).max(64)).max(10_000) }),
]);
type SpanMessage = z.infer<typeof SpanMessage>;

export interface RoomSpansDeps {
  nodeId: string;
  /** The node's Redis connection, for publishing. */
  redis: Redis;
  api: InternalApi;
  client: InternalClient;
  registry: NodeRegistry;
  directory: RoomDirectory;
  pipes: ClusterPipes;
  rooms: RoomRegistry;
  log: Logger;
}

/**
 * Rooms that span nodes. Each node keeps its own part of a room (its participants, routers and data
 * plane) and learns the others' from the room's Redis pub/sub channel: who joins, leaves or changes,
 * what they publish (pulled here through ClusterPipes, once per node, and fanned out to everyone
 * here), chat and whiteboard posts, and every room-wide notification. Pub/sub may drop messages
 * while Redis is away, so every few seconds each node also asks the room's other nodes for their
 * own part (internal API) and corrects its view: presence and media converge after any loss.
 */
export class RoomSpans {
  private readonly spans = new Map<string, RoomSpan>();
  private readonly subscriber: Redis;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: RoomSpansDeps) {
    this.subscriber = deps.redis.duplicate();
    this.subscriber.on('error', () => undefined); // the main connection already reports Redis trouble
    this.subscriber.on('message', (channel: string, text: string) => this.spans.get(channel)?.heard(text));
    void this.subscriber.connect().catch(() => undefined);
    deps.api.handle('span-state', z.object({ roomId: z.string().min(1).max(64) }), ({ roomId }) => partOf(deps.rooms.get(roomId)));
    deps.registry.on('nodeDown', (nodeId) => {
      for (const span of this.spans.values()) span.nodeGone(nodeId);
    });
    deps.rooms.on('created', (room) => this.attach(room));
    this.timer = setInterval(() => {
      for (const span of this.spans.values()) void span.reconcile();
    }, RECONCILE_MS);
    this.timer.unref();
  }

  /** Resolves once this node has looked at the room's other nodes (or given up waiting): a join answer can list them. */
  ready(room: Room): Promise<void> {
    return this.spans.get(channelOf(room.id))?.ready ?? Promise.resolve();
  }

  /** This node is stopping and its participants in `room` move to other nodes: the other nodes keep them meanwhile. */
  announceMoving(room: Room, peerIds: string[]): void {
    this.spans.get(channelOf(room.id))?.announceMoving(peerIds);
  }

  close(): void {
    clearInterval(this.timer);
    for (const span of [...this.spans.values()]) span.close();
    this.subscriber.disconnect();
  }

  private attach(room: Room): void {
    const channel = channelOf(room.id);
    const span = new RoomSpan(room, channel, this.subscriber, this.deps);
    this.spans.set(channel, span);
    room.once('closed', () => {
      if (this.spans.get(channel) === span) this.spans.delete(channel);
      span.close();
    });
  }
}

/** A room's part here, as other nodes ask for it. */
function partOf(room: Room | undefined): RoomPart {
  if (!room || room.isClosed) return { peers: [], producers: [] };
  const peers = [...room.peers.values()];
  return {
    peers: peers.map((peer) => peer.info),
    producers: peers.flatMap((peer) =>
      [...peer.producers.values()].filter((producer) => !producer.closed).map((producer) => ({ id: producer.id, peerId: peer.id })),
    ),
  };
}

/** One room's part on this node, kept in step with its parts on the other nodes. */
class RoomSpan {
  readonly ready: Promise<void>;
  /** Participants who left lately (by id, with when): an older account cannot bring them back. */
  private readonly departed = new Map<string, number>();
  /** Producers of other nodes being piped here now. */
  private readonly pulling = new Set<string>();
  private subscribed = false;
  private closed = false;
  private reconciling: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    readonly room: Room,
    private readonly channel: string,
    private readonly subscriber: Redis,
    private readonly deps: RoomSpansDeps,
  ) {
    this.log = deps.log.child({ room: room.id });
    room.on('announced', (notice) => this.publish({ kind: 'notice', from: deps.nodeId, notice }));
    room.on('produced', (producer) => this.publish({ kind: 'produced', from: deps.nodeId, producer: { id: producer.id, peerId: producer.appData.peerId } }));
    room.data.onPost = (post) => this.publish({ kind: 'post', from: deps.nodeId, post });
    // Subscribed before the first look, so nothing said in between is missed.
    const firstLook = this.reconcile();
    this.ready = Promise.race([firstLook, new Promise<void>((resolve) => setTimeout(resolve, FIRST_LOOK_MS).unref())]);
  }

  /** A message on the room's channel. */
  heard(text: string): void {
    if (this.closed) return;
    let message: SpanMessage;
    try {
      message = SpanMessage.parse(JSON.parse(text));
    } catch (error) {
      this.log.warn({ err: error }, 'unreadable message on a room channel');
      return;
    }
    if (message.from === this.deps.nodeId) return;
    if (message.kind === 'notice') this.noticed(message.from, message.notice as RoomNotice);
    else if (message.kind === 'produced') void this.pull(message.from, message.producer.id);
    else if (message.kind === 'post') {
      if (message.post.label !== 'file') this.room.data.deliver(message.post as RoomPost);
    } else if (message.kind === 'moving') {
      const until = Date.now() + MOVE_HOLD_MS;
      for (const peerId of message.peerIds) {
        const known = this.room.remote.get(peerId);
        if (known?.node === message.from) known.movingUntil = until;
      }
    } else this.nodeGone(message.from);
  }

  announceMoving(peerIds: string[]): void {
    this.publish({ kind: 'moving', from: this.deps.nodeId, peerIds });
  }

  /** Another node's participants are gone with it (it died, left the cluster, or its part of the room closed). */
  nodeGone(nodeId: string): void {
    for (const [peerId, remote] of [...this.room.remote]) {
      if (remote.node === nodeId) this.dropRemote(peerId);
    }
  }

  /**
   * Compares this node's view with every other node's own account of its part, and corrects it:
   * participants added or dropped (each one told), producers not yet here pulled. Runs one at a time.
   */
  reconcile(): Promise<void> {
    this.reconciling ??= this.compare().finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.room.data.onPost = undefined;
    this.publish({ kind: 'gone', from: this.deps.nodeId });
    if (this.subscribed) void this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  private async compare(): Promise<void> {
    if (this.closed) return;
    if (!this.subscribed) {
      await this.subscriber.subscribe(this.channel).then(
        () => (this.subscribed = true),
        (error: unknown) => this.log.debug({ err: error }, 'could not subscribe to the room’s channel yet'),
      );
    }
    try {
      const started = Date.now();
      const hosts = await this.deps.directory.hosts(this.room.id);
      const others = hosts.map((host) => host.node).filter((node) => node.id !== this.deps.nodeId);
      const parts = await Promise.all(others.map(async (node) => ({ node, part: await this.askPart(node) })));
      if (this.closed) return;
      for (const { node, part } of parts) if (part) this.adopt(node, part, started);
      // Participants of nodes that no longer host the room (and were not heard of just now) are gone.
      const hosting = new Set(others.map((node) => node.id));
      for (const [peerId, remote] of [...this.room.remote]) {
        if (!hosting.has(remote.node) && remote.since < started - RECENT_MS) this.dropRemote(peerId);
      }
      this.forgetOldDepartures();
    } catch (error) {
      // Redis away: the view stays as it is, and the next round tries again.
      this.log.debug({ err: error }, 'could not compare the room with its other nodes');
    } finally {
      // Whoever was moving and did not arrive anywhere in time has left.
      const now = Date.now();
      for (const [peerId, remote] of [...this.room.remote]) {
        if (remote.movingUntil !== undefined && remote.movingUntil < now) this.dropRemote(peerId, true);
      }
    }
  }

  private askPart(node: NodeInfo): Promise<RoomPart | undefined> {
    return this.deps.client.call(node.internal, 'span-state', { roomId: this.room.id }, RoomPart).catch((error: unknown) => {
      this.log.warn({ err: error, node: node.id }, 'a node of the room did not say what it has of it');
      return undefined;
    });
  }

  /** One node's own account of its part: it is the truth about its participants and producers. */
  private adopt(node: NodeInfo, part: RoomPart, started: number): void {
    const present = new Set<string>();
    for (const info of part.peers) {
      present.add(info.id);
      if (this.room.peers.has(info.id)) continue;
      const known = this.room.remote.get(info.id);
      // Their node's account is the truth about them, wherever we last heard they were.
      if (known) Object.assign(known, { info, node: node.id, movingUntil: undefined });
      else if (!this.departed.has(info.id)) this.addRemote(node.id, info);
    }
    for (const [peerId, remote] of [...this.room.remote]) {
      if (remote.node === node.id && !present.has(peerId) && remote.since < started - RECENT_MS) this.dropRemote(peerId);
    }
    for (const producer of part.producers) void this.pull(node.id, producer.id);
  }

  /** A room-wide notification from another node: participants' comings and goings are kept, everything goes to everyone here. */
  private noticed(from: string, notice: RoomNotice): void {
    switch (notice.event) {
      case 'participantJoined': {
        const { id } = notice.payload;
        const known = this.room.remote.get(id);
        if (known) {
          // Moved here from a stopping node: the same participant, now on `from`; nobody sees them leave.
          Object.assign(known, { info: notice.payload, node: from, since: Date.now(), movingUntil: undefined });
          this.room.deliver({ event: 'participantUpdated', payload: notice.payload });
        } else if (!this.departed.has(id) && !this.room.peers.has(id)) {
          this.addRemote(from, notice.payload);
        }
        return;
      }
      case 'participantLeft': {
        // Only their own node's word counts: one that left a stopping node lives on elsewhere.
        const known = this.room.remote.get(notice.payload.peerId);
        if (known?.node !== from || known.movingUntil !== undefined) return;
        this.departed.set(notice.payload.peerId, Date.now());
        this.dropRemote(notice.payload.peerId);
        return;
      }
      case 'participantUpdated': {
        const known = this.room.remote.get(notice.payload.id);
        if (known) known.info = notice.payload;
        break;
      }
      case 'participantConnection': {
        const known = this.room.remote.get(notice.payload.peerId);
        if (known) known.info = { ...known.info, reconnecting: notice.payload.reconnecting };
        break;
      }
      default:
        break;
    }
    this.room.deliver(notice);
  }

  private addRemote(node: string, info: ParticipantInfo): void {
    this.room.remote.set(info.id, { info, node, since: Date.now() });
    this.room.deliver({ event: 'participantJoined', payload: info });
  }

  /** Drops a participant of another node (and tells everyone here), unless they are moving between nodes (`evenIfMoving`). */
  private dropRemote(peerId: string, evenIfMoving = false): void {
    const known = this.room.remote.get(peerId);
    if (!known || (!evenIfMoving && known.movingUntil !== undefined)) return;
    this.room.remote.delete(peerId);
    this.room.deliver({ event: 'participantLeft', payload: { peerId } });
  }

  /** Pipes another node's producer to this node's home router and fans it out here (once; repeats are no-ops). */
  private async pull(nodeId: string, producerId: string): Promise<void> {
    if (this.closed || this.room.remoteProducers.has(producerId) || this.pulling.has(producerId)) return;
    const node = this.deps.registry.known().find((candidate) => candidate.id === nodeId);
    if (!node) return;
    this.pulling.add(producerId);
    try {
      const producer = await this.deps.pipes.pull(node, this.room.id, producerId, this.room.router);
      if (!this.closed && !producer.closed) this.room.addRemoteProducer(producer as types.Producer<ProducerAppData>);
    } catch (error) {
      // Gone meanwhile, or the node is unreachable: the next reconciliation tries again if it still exists.
      this.log.debug({ err: error, producer: producerId, node: nodeId }, 'could not pipe a producer of another node');
    } finally {
      this.pulling.delete(producerId);
    }
  }

  private publish(message: SpanMessage): void {
    // After 'gone', nothing more: what the closing room says of its last moments is not the others' business.
    if (this.closed && message.kind !== 'gone') return;
    void this.deps.redis.publish(this.channel, JSON.stringify(message)).catch((error: unknown) => {
      // Lost while Redis is away: the other nodes' next reconciliation catches up on presence and media.
      this.log.debug({ err: error, kind: message.kind }, 'could not tell the room’s other nodes');
    });
  }

  private forgetOldDepartures(): void {
    const before = Date.now() - DEPARTED_MS;
    for (const [peerId, at] of this.departed) if (at < before) this.departed.delete(peerId);
  }
}
