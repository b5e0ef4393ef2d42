import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { z } from 'zod';
import { ConclaveError } from '../../../shared/errors.js';
import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { Logger } from '../logger.js';
import type { InternalAddress, InternalApi, InternalClient } from './InternalApi.js';

/** A producer of this node, found by its room and id, and the router it lives on. */
export interface PipeSource {
  router: types.Router;
  producer: types.Producer;
}

/** The node at the other end of a pipe: its id and internal address. */
export interface PipePeer {
  id: string;
  internal: InternalAddress;
}

export interface ClusterPipesOptions {
  /** This node's internal address: pipes listen here. */
  listenIp: string;
  /** UDP ports pipes may take (the firewall between nodes opens these). */
  portRange: { min: number; max: number };
  /** A producer of a room on this node, when there is one. */
  findProducer(roomId: string, producerId: string): PipeSource | undefined;
  /** A live node by id (the one that asked for a pipe, to tell it when the pipe ends). */
  findNode(nodeId: string): Promise<PipePeer | undefined>;
  log: Logger;
}

const Tuple = z.object({ ip: z.string().min(1).max(64), port: z.number().int().min(1).max(65535) });
const Srtp = z.object({
  cryptoSuite: z.enum(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']),
  keyBase64: z.string().min(16).max(128),
});
/** Between nodes of the same code the parameters are mediasoup's own; produce() checks them in full. */
const PipeRtpParameters = z.custom<types.RtpParameters>(
  (value) => z.looseObject({ codecs: z.array(z.looseObject({ mimeType: z.string(), payloadType: z.number() })).min(1) }).safeParse(value).success,
  'not RTP parameters',
);

/** B asks A: "send me this producer; here is my end of the pipe". */
const PipeRequest = z.object({
  pipeId: z.uuid(),
  roomId: z.string().min(1).max(64),
  producerId: z.string().min(1).max(64),
  tuple: Tuple,
  srtpParameters: Srtp,
});
/** A answers with its end and what B needs to produce the same stream. */
const PipeAnswer = z.object({
  tuple: Tuple,
  srtpParameters: Srtp,
  kind: z.enum(['audio', 'video']),
  rtpParameters: PipeRtpParameters,
  paused: z.boolean(),
  appData: z.record(z.string(), z.unknown()),
});
/** Either end tells the other what became of a pipe. */
const PipeState = z.object({ pipeId: z.uuid(), state: z.enum(['paused', 'resumed', 'closed']) });
const Empty = z.object({});

/** This node sends one of its producers to another node. */
interface Outgoing {
  pipeId: string;
  key: string;
  to: PipePeer;
  transport: types.PipeTransport;
}

/** This node receives another node's producer. */
interface Incoming {
  pipeId: string;
  from: PipePeer;
  transport: types.PipeTransport;
  producer: types.Producer;
}

type ClusterPipesEvents = {
  /** A producer of another node arrived here (its pipe producer has the original's id). */
  pipedIn: [producer: types.Producer, from: string];
  /** One of our producers now also flows to `to`. */
  pipedOut: [producerId: string, to: string];
};

/**
 * Media between nodes: the one owner of every PipeTransport that crosses to another node. A node
 * that needs a producer of another node pulls it (`pull`): it opens its end, asks the producer's
 * node over the internal API, that node opens its end and consumes the producer into it, and both
 * connect, SRTP on, on their internal addresses. Each producer crosses to a node at most once. A
 * pipe ends when the producer closes (the sender tells the receiver), when the receiver lets it go
 * (`release`, or its router closes), or when either node leaves the cluster (`nodeGone`).
 */
export class ClusterPipes extends TypedEmitter<ClusterPipesEvents> {
  private readonly outgoing = new Map<string, Outgoing>();
  /** Outgoing pipe ids by `${producerId}>${nodeId}`: one per producer and node. */
  private readonly outgoingByKey = new Map<string, string>();
  /** Incoming pipes by producer id, with the pipe's id; a pull in progress shares its promise. */
  private readonly incoming = new Map<string, { pipeId: string; ready: Promise<Incoming> }>();
  private readonly incomingById = new Map<string, Incoming>();
  private closed = false;

  constructor(
    api: InternalApi,
    private readonly client: InternalClient,
    private readonly options: ClusterPipesOptions,
  ) {
    super();
    api.handle('pipe', PipeRequest, (request, from) => this.send(request, from));
    api.handle('pipe-state', PipeState, ({ pipeId, state }, from) => {
      this.onState(pipeId, state, from);
      return {};
    });
  }

  /** Pipes in each direction (tests, metrics). */
  get counts(): { incoming: number; outgoing: number } {
    return { incoming: this.incomingById.size, outgoing: this.outgoing.size };
  }

  /**
   * The producer `producerId` of `roomId`, hosted by `from`, made available on `router` here.
   * Concurrent and repeated pulls of one producer share one pipe (on the router of the first).
   */
  pull(from: PipePeer, roomId: string, producerId: string, router: types.Router): Promise<types.Producer> {
    if (this.closed) return Promise.reject(new ConclaveError('SHUTTING_DOWN', 'This node is shutting down'));
    let pulling = this.incoming.get(producerId);
    if (!pulling) {
      const pipeId = randomUUID();
      const entry = { pipeId, ready: this.open(pipeId, from, roomId, producerId, router) };
      this.incoming.set(producerId, entry);
      entry.ready.catch(() => {
        if (this.incoming.get(producerId) === entry) this.incoming.delete(producerId);
      });
      pulling = entry;
    }
    return pulling.ready.then((pipe) => pipe.producer);
  }

  /** This node no longer needs `producerId` from its node: the pipe closes at both ends. */
  release(producerId: string): void {
    void this.incoming.get(producerId)?.ready.then(
      (pipe) => this.closeIncoming(pipe, true),
      () => undefined,
    );
  }

  /** A node left the cluster: every pipe to or from it closes here (it cannot be told, nor needs to be). */
  nodeGone(nodeId: string): void {
    for (const pipe of [...this.outgoing.values()]) if (pipe.to.id === nodeId) this.closeOutgoing(pipe, false);
    for (const pipe of [...this.incomingById.values()]) if (pipe.from.id === nodeId) this.closeIncoming(pipe, false);
  }

  /** Closes every pipe, telling the other ends (shutdown). */
  close(): void {
    this.closed = true;
    for (const pipe of [...this.outgoing.values()]) this.closeOutgoing(pipe, true);
    for (const pipe of [...this.incomingById.values()]) this.closeIncoming(pipe, true);
  }

  /** Receiving end: open, ask, connect, produce. */
  private async open(pipeId: string, from: PipePeer, roomId: string, producerId: string, router: types.Router): Promise<Incoming> {
    const transport = await this.createTransport(router, { pipeId, peer: from.id });
    try {
      const answer = await this.client.call(
        from.internal,
        'pipe',
        { pipeId, roomId, producerId, tuple: { ip: transport.tuple.localIp, port: transport.tuple.localPort }, srtpParameters: transport.srtpParameters },
        PipeAnswer,
      );
      await transport.connect({ ip: answer.tuple.ip, port: answer.tuple.port, srtpParameters: answer.srtpParameters });
      const producer = await transport.produce({
        id: producerId,
        kind: answer.kind,
        rtpParameters: answer.rtpParameters,
        paused: answer.paused,
        appData: { ...answer.appData, pipedFrom: from.id },
      });
      if (this.closed) throw new ConclaveError('SHUTTING_DOWN', 'This node is shutting down');
      const pipe: Incoming = { pipeId, from, transport, producer };
      this.incomingById.set(pipeId, pipe);
      // The router closing (room gone, worker died) takes the transport with it: the sender is told.
      transport.observer.once('close', () => this.closeIncoming(pipe, true));
      this.options.log.info({ pipe: pipeId, producer: producerId, from: from.id, room: roomId }, 'producer piped in from another node');
      this.emit('pipedIn', producer, from.id);
      return pipe;
    } catch (error) {
      transport.close();
      // The other end may have opened its half (our call timed out, or we failed after it answered).
      this.tell(from, pipeId, 'closed');
      throw error;
    }
  }

  /** Sending end: the other node asked for one of our producers. */
  private async send(request: z.output<typeof PipeRequest>, fromNode: string): Promise<z.input<typeof PipeAnswer>> {
    if (this.closed) throw new ConclaveError('SHUTTING_DOWN', 'This node is shutting down');
    const source = this.options.findProducer(request.roomId, request.producerId);
    if (!source || source.producer.closed) throw new ConclaveError('NOT_FOUND', `No producer ${request.producerId} in room ${request.roomId} here`);
    const to = await this.options.findNode(fromNode);
    if (!to) throw new ConclaveError('FORBIDDEN', `Node ${fromNode} is not a live node of this cluster`);
    // A second request for the same producer means the other node lost its end: replace ours.
    const key = `${request.producerId}>${fromNode}`;
    const previous = this.outgoing.get(this.outgoingByKey.get(key) ?? '');
    if (previous) this.closeOutgoing(previous, false);
    const transport = await this.createTransport(source.router, { pipeId: request.pipeId, peer: fromNode });
    try {
      await transport.connect({ ip: request.tuple.ip, port: request.tuple.port, srtpParameters: request.srtpParameters });
      const consumer = await transport.consume({ producerId: request.producerId });
      const pipe: Outgoing = { pipeId: request.pipeId, key, to, transport };
      this.outgoing.set(pipe.pipeId, pipe);
      this.outgoingByKey.set(key, pipe.pipeId);
      consumer.on('producerpause', () => this.tell(to, pipe.pipeId, 'paused'));
      consumer.on('producerresume', () => this.tell(to, pipe.pipeId, 'resumed'));
      // The producer closing closes the consumer; the transport (and the other end) follow.
      consumer.observer.once('close', () => this.closeOutgoing(pipe, true));
      transport.observer.once('close', () => this.closeOutgoing(pipe, true));
      this.options.log.info({ pipe: pipe.pipeId, producer: request.producerId, to: fromNode, room: request.roomId }, 'producer piped out to another node');
      this.emit('pipedOut', request.producerId, fromNode);
      const srtpParameters = transport.srtpParameters;
      if (!srtpParameters) throw new Error('pipe transport without SRTP parameters');
      return {
        tuple: { ip: transport.tuple.localAddress ?? transport.tuple.localIp, port: transport.tuple.localPort },
        srtpParameters,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters,
        paused: consumer.producerPaused,
        appData: source.producer.appData,
      };
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  private onState(pipeId: string, state: 'paused' | 'resumed' | 'closed', fromNode: string): void {
    const incoming = this.incomingById.get(pipeId);
    if (incoming && incoming.from.id === fromNode) {
      if (state === 'closed') this.closeIncoming(incoming, false);
      else if (state === 'paused') void incoming.producer.pause().catch(() => undefined);
      else void incoming.producer.resume().catch(() => undefined);
      return;
    }
    const outgoing = this.outgoing.get(pipeId);
    if (outgoing && outgoing.to.id === fromNode && state === 'closed') this.closeOutgoing(outgoing, false);
  }

  private closeIncoming(pipe: Incoming, tellSender: boolean): void {
    if (!this.incomingById.delete(pipe.pipeId)) return;
    const producerId = pipe.producer.id;
    if (this.incoming.get(producerId)?.pipeId === pipe.pipeId) this.incoming.delete(producerId);
    pipe.transport.close();
    if (tellSender) this.tell(pipe.from, pipe.pipeId, 'closed');
    this.options.log.info({ pipe: pipe.pipeId, producer: producerId, from: pipe.from.id }, 'pipe from another node closed');
  }

  private closeOutgoing(pipe: Outgoing, tellReceiver: boolean): void {
    if (!this.outgoing.delete(pipe.pipeId)) return;
    if (this.outgoingByKey.get(pipe.key) === pipe.pipeId) this.outgoingByKey.delete(pipe.key);
    pipe.transport.close();
    if (tellReceiver) this.tell(pipe.to, pipe.pipeId, 'closed');
    this.options.log.info({ pipe: pipe.pipeId, to: pipe.to.id }, 'pipe to another node closed');
  }

  /** Best effort: a node that cannot be told finds out when it leaves the cluster or its pipe goes quiet. */
  private tell(peer: PipePeer, pipeId: string, state: 'paused' | 'resumed' | 'closed'): void {
    void this.client.call(peer.internal, 'pipe-state', { pipeId, state }, Empty).catch((error: unknown) => {
      this.options.log.warn({ err: error, pipe: pipeId, node: peer.id, state }, 'could not tell the other node about a pipe');
    });
  }

  private createTransport(router: types.Router, appData: { pipeId: string; peer: string }): Promise<types.PipeTransport> {
    const { listenIp, portRange } = this.options;
    return router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: listenIp, portRange }, enableSrtp: true, appData });
  }
}
