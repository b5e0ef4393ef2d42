import type { types } from 'mediasoup';
import {
  type BoardEvent,
  BoardOp,
  type ChatMessage,
  ChatPost,
  DATA_CHANNELS,
  DATA_LABELS,
  type DataLabel,
  FAST_PACKET_LIFETIME_MS,
  type FastMessage,
  FastPost,
  MAX_SCTP_MESSAGE_BYTES,
  PPID_BINARY,
  type ServerDataMessages,
  serverDataText,
} from '../../../shared/data.js';
import { ConclaveError, type ErrorCode } from '../../../shared/errors.js';
import { firstIssue } from '../../../shared/identity.js';
import type { DataSyncResponse, ParsedRequestOf, ProduceDataRequest, Responses } from '../../../shared/protocol.js';
import type { Logger } from '../logger.js';
import type { Peer } from '../rooms/Peer.js';
import { ChatLog } from './ChatLog.js';
import { checkReliability, nonceOf, parse, readJson } from './checks.js';
import { mayNotifyRefusal, newMember, rememberRefusedNonce, type Member } from './DataMember.js';
import { FileRelay } from './FileRelay.js';
import { Outbox } from './Outbox.js';
import { Whiteboard } from './Whiteboard.js';

// Over 350 lines on purpose: what remains is one data plane's plumbing (the room's DirectTransport,
// each member's producers, taps and consumers), which all share the members map. Its parts that
// stand alone are their own files: ChatLog, Whiteboard, FileRelay, Outbox, DataMember, checks.

/** What the hub needs from its room. */
export interface DataHubHost {
  /** The router the room's data plane lives on (the home router). */
  home(): types.Router;
  /** The router a participant's transports are on. */
  routerOf(peer: Peer): types.Router | undefined;
  /** Makes a data producer on `from` consumable on `to`, once (piped producers are reused). */
  pipeData(dataProducerId: string, from: types.Router, to: types.Router): Promise<void>;
  /** Everyone in the room now. */
  peers(): Iterable<Peer>;
  /** Whether the room's rules let this participant chat or send files. */
  permits(peer: Peer, what: 'chat' | 'files'): boolean;
}

/** A chat post, whiteboard event or fast message as it goes to the room's other nodes (a room spanning nodes). */
export type RoomPost = { [L in 'chat' | 'board' | 'fast']: { label: L; payload: ServerDataMessages[L] } }['chat' | 'board' | 'fast'];

export interface DataHubOptions {
  maxFileBytes: number;
}

/**
 * A room's data plane. Every participant's data channels are read here (a DataConsumer on the
 * room's DirectTransport), validated, rate-limited and stamped with the sender, then forwarded by
 * the room's own DataProducer of that label, which each participant consumes once: N consumers
 * per label, not N². Chat history and the whiteboard live here for participants who join later;
 * files are relayed to exactly the participants present when they were offered.
 */
export class DataHub {
  private transport: types.DirectTransport | undefined;
  private readonly producers = new Map<DataLabel, types.DataProducer>();
  private readonly members = new Map<Peer, Member>();
  private readonly chat = new ChatLog();
  private readonly board = new Whiteboard();
  private readonly files: FileRelay;
  /** Order of chat and whiteboard events across the room; a sync answer says how far it covers. */
  private seq = 0;
  private closed = false;
  /** Set when the room spans nodes: every accepted post is passed on to the room's other nodes. */
  onPost: ((post: RoomPost) => void) | undefined;

  constructor(
    private readonly host: DataHubHost,
    private readonly options: DataHubOptions,
    private readonly log: Logger,
  ) {
    this.files = new FileRelay(
      {
        outboxOf: (peer) => this.outboxOf(peer),
        reject: (peer, code, message, fileId) => peer.notify('dataRejected', { label: 'file', code, message, ...(fileId === undefined ? {} : { fileId }) }),
      },
      options.maxFileBytes,
    );
  }

  /** Opens the room's side on the home router: a DirectTransport with one DataProducer per label. */
  async start(): Promise<void> {
    // A retried move may start twice: the earlier transport (on a router that died meanwhile) goes.
    this.transport?.close();
    const transport = await this.host
      .home()
      .createDirectTransport({ maxSendMessageSize: MAX_SCTP_MESSAGE_BYTES, maxReceiveMessageSize: MAX_SCTP_MESSAGE_BYTES });
    this.transport = transport;
    this.producers.clear();
    for (const label of DATA_LABELS) this.producers.set(label, await transport.produceData({ label }));
  }

  /** The room's DataProducer of a label (tests observe what the room forwards). */
  producerId(label: DataLabel): string | undefined {
    return this.producers.get(label)?.id;
  }

  /** Opens one of the participant's channels: a DataProducer on its send transport that the server reads. */
  async produce(peer: Peer, request: ProduceDataRequest): Promise<types.DataProducer> {
    const transport = peer.transport(request.transportId);
    if (transport.appData.direction !== 'send') throw new ConclaveError('FORBIDDEN', 'Produce data on your send transport');
    if (!transport.sctpParameters) throw new ConclaveError('UNSUPPORTED', 'This transport has no data channels: join with dataChannels: true');
    checkReliability(request);
    const { streamId } = request.sctpStreamParameters;
    const member = this.memberOf(peer);
    const existing = member.producers.get(request.label);
    if ((existing && !existing.closed) || member.opening.has(request.label)) {
      throw new ConclaveError('BAD_REQUEST', `You already have a ${request.label} channel`);
    }
    member.opening.add(request.label);
    try {
      const producer = await transport
        .produceData({ sctpStreamParameters: request.sctpStreamParameters, label: request.label, protocol: request.protocol, appData: { peerId: peer.id } })
        .catch((error: unknown) => {
          // Two channels on one stream is the client's mistake, not the server's.
          if (error instanceof Error && error.message.includes('streamId already exists')) {
            throw new ConclaveError('BAD_REQUEST', `SCTP stream ${streamId} is already in use`);
          }
          throw error;
        });
      if (peer.isClosed || this.members.get(peer) !== member) {
        producer.close();
        throw new ConclaveError('NOT_JOINED', 'You left the room while opening a data channel');
      }
      member.producers.set(request.label, producer);
      producer.observer.on('close', () => {
        if (member.producers.get(request.label) === producer) member.producers.delete(request.label);
      });
      await this.attach(peer, request.label, producer).catch((error: unknown) => {
        producer.close();
        throw error;
      });
      return producer;
    } finally {
      member.opening.delete(request.label);
    }
  }

  /**
   * Starts reading a participant's `label` channel from `producer`, which must be on that
   * participant's router (or the home router).
   */
  async attach(peer: Peer, label: DataLabel, producer: types.DataProducer): Promise<void> {
    const transport = this.transport;
    const home = this.host.home();
    const router = this.host.routerOf(peer);
    if (!transport || transport.closed) throw new ConclaveError('INTERNAL', 'The room has no data plane');
    if (router && router !== home && producer.type === 'sctp') await this.host.pipeData(producer.id, router, home);
    const tap = await transport.consumeData({ dataProducerId: producer.id });
    const member = this.memberOf(peer);
    member.taps.get(label)?.close();
    member.taps.set(label, tap);
    tap.on('message', (message, ppid) => this.receive(peer, label, message, ppid));
    tap.on('dataproducerclose', () => {
      if (member.taps.get(label) === tap) member.taps.delete(label);
      // Its chunks can no longer arrive: whoever waits for them is told.
      if (label === 'file' && !this.closed) this.files.stopAll(`${peer.displayName}'s connection was reset; the transfer stopped`, peer);
    });
  }

  /** Gives a participant the room's channels on its current receive transport (after joining or a media reset). */
  async connect(peer: Peer): Promise<void> {
    const transport = peer.recvTransport;
    const router = this.host.routerOf(peer);
    if (!transport.sctpParameters || transport.closed || !router || this.closed) return;
    const member = this.memberOf(peer);
    // New consumers: the client syncs again once they are open.
    member.synced = false;
    const home = this.host.home();
    for (const label of DATA_LABELS) {
      const producer = this.producers.get(label);
      if (!producer) continue;
      let consumer: types.DataConsumer;
      try {
        if (router !== home) await this.host.pipeData(producer.id, home, router);
        consumer = await transport.consumeData({
          dataProducerId: producer.id,
          ...(DATA_CHANNELS[label].ordered ? {} : { ordered: false, maxPacketLifeTime: FAST_PACKET_LIFETIME_MS }),
        });
      } catch (error) {
        // The transport, a router or the room closed meanwhile: nothing to deliver to.
        this.log.debug({ err: error, peer: peer.id, label }, 'data consumer abandoned');
        return;
      }
      if (peer.isClosed || this.members.get(peer) !== member) {
        consumer.close();
        return;
      }
      this.adopt(peer, member, label, consumer, transport.id);
    }
  }

  /** The participant's consumers are open: it gets the history and takes part from now on. */
  sync(peer: Peer): DataSyncResponse {
    const member = this.members.get(peer);
    if (!peer.recvTransport.sctpParameters) throw new ConclaveError('UNSUPPORTED', 'You joined without data channels (dataChannels: true)');
    if (!member || member.consumers.size < DATA_LABELS.length) throw new ConclaveError('BAD_REQUEST', 'Your data channels are not open yet');
    member.synced = true;
    return { seq: this.seq, chat: this.chat.snapshot(), board: this.board.snapshot(), maxFileBytes: this.options.maxFileBytes };
  }

  offerFile(peer: Peer, request: ParsedRequestOf<'offerFile'>): Responses['offerFile'] {
    if (!this.host.permits(peer, 'files')) throw new ConclaveError('FORBIDDEN', 'Only hosts and moderators may send files in this room');
    return this.files.offer(peer, request, [...this.host.peers()]);
  }

  cancelFile(peer: Peer, fileId: number): void {
    this.files.cancel(peer, fileId);
  }

  leave(peer: Peer): void {
    this.files.leave(peer);
    this.members.get(peer)?.outbox?.close();
    this.members.delete(peer);
  }

  /**
   * The home router died, and the DirectTransport with it. The plane is rebuilt on the new home:
   * channels of participants whose routers survived are read again and they get new consumers;
   * the others follow when their transports are replaced. Transfers in flight stop.
   */
  async moveHome(): Promise<void> {
    this.files.stopAll('The server moved the room to another worker; send the file again');
    await this.start();
    for (const [peer, member] of this.members) {
      if (peer.isClosed) continue;
      for (const [label, producer] of member.producers) {
        if (producer.closed) continue;
        await this.attach(peer, label, producer).catch((error: unknown) =>
          this.log.warn({ err: error, peer: peer.id, label }, 'could not read a data channel again'),
        );
      }
      await this.connect(peer);
    }
  }

  /**
   * A post made on another node of the room: kept (chat history, the board) and forwarded to
   * everyone here, in this node's order (its own `seq`).
   */
  deliver(post: RoomPost): void {
    if (this.closed) return;
    if (post.label === 'chat') {
      const message: ChatMessage = { ...post.payload, seq: ++this.seq };
      this.chat.post(message);
      this.broadcast('chat', message);
    } else if (post.label === 'board') {
      const { by } = post.payload;
      try {
        this.board.apply(by, post.payload);
      } catch (error) {
        // The boards of two nodes disagree (a post lost while Redis was away): theirs is skipped here.
        this.log.warn({ err: error, by }, 'a whiteboard event from another node does not fit this board');
        return;
      }
      // Their node's order number is theirs; this node stamps its own.
      this.broadcast('board', { ...post.payload, seq: ++this.seq });
    } else {
      this.broadcast('fast', post.payload);
    }
  }

  close(): void {
    this.closed = true;
    for (const member of this.members.values()) member.outbox?.close();
    this.members.clear();
    this.transport?.close();
  }

  private adopt(peer: Peer, member: Member, label: DataLabel, consumer: types.DataConsumer, transportId: string): void {
    member.consumers.get(label)?.close();
    member.consumers.set(label, consumer);
    if (label === 'file') {
      const previous = member.outbox;
      previous?.close();
      if (previous) this.files.outboxClosed(previous);
      member.outbox = new Outbox(consumer, (outbox, fileId) => this.files.undeliverable(outbox, fileId));
    }
    const forget = (): void => {
      if (member.consumers.get(label) === consumer) member.consumers.delete(label);
    };
    consumer.on('transportclose', forget);
    consumer.on('dataproducerclose', () => {
      forget();
      if (!peer.isClosed && !peer.recvTransport.closed) peer.notify('dataConsumerClosed', { dataConsumerId: consumer.id });
    });
    const sctpStreamParameters = consumer.sctpStreamParameters;
    if (!sctpStreamParameters) return;
    peer.notify('newDataConsumer', {
      id: consumer.id,
      dataProducerId: consumer.dataProducerId,
      transportId,
      label,
      sctpStreamParameters,
      protocol: consumer.protocol,
    });
  }

  private memberOf(peer: Peer): Member {
    let member = this.members.get(peer);
    if (!member) {
      member = newMember();
      this.members.set(peer, member);
    }
    return member;
  }

  private outboxOf(peer: Peer): Outbox | undefined {
    const member = this.members.get(peer);
    return member?.synced && member.outbox && !member.outbox.isClosed ? member.outbox : undefined;
  }

  /** One message from a participant's channel: checked, stamped and forwarded, or refused. */
  private receive(peer: Peer, label: DataLabel, message: Buffer, ppid: number): void {
    const member = this.members.get(peer);
    if (!member || peer.isClosed || this.closed) return;
    // Chat spends its allowance only after its nonce is read (see receiveChat).
    if (label !== 'chat' && !member.limiters[label].take()) {
      this.refuse(peer, member, label, 'RATE_LIMITED', `Too many ${label} messages; slow down`);
      return;
    }
    if (label === 'file') {
      if (ppid === PPID_BINARY) this.files.chunk(peer, message);
      else this.refuse(peer, member, label, 'BAD_REQUEST', 'The file channel carries binary chunks');
      return;
    }
    const json = readJson(label, message, ppid);
    if ('refused' in json) {
      this.refuse(peer, member, label, json.refused.code, json.refused.message);
      return;
    }
    if (label === 'chat') {
      this.receiveChat(peer, member, json.value);
      return;
    }
    try {
      if (label === 'board') this.postBoard(peer, parse(label, BoardOp, json.value));
      else this.postFast(peer, parse(label, FastPost, json.value));
    } catch (error) {
      if (error instanceof ConclaveError) this.refuse(peer, member, label, error.code, error.message);
      else {
        this.log.error({ err: error, peer: peer.id, label }, 'data message failed');
        this.refuse(peer, member, label, 'INTERNAL', `${label} message failed on the server`);
      }
    }
  }

  /**
   * A chat post. Its nonce is read before anything is spent: a resend (the client sent it into a
   * connection that then died) of a post already made or refused is dropped without using the
   * sender's allowance, so catching up after a reset never crowds out what they type next.
   */
  private receiveChat(peer: Peer, member: Member, value: unknown): void {
    const nonce = nonceOf(value);
    if (nonce !== undefined && (this.chat.hasPosted(nonce) || member.refusedNonces.has(nonce))) return;
    const refuseChat = (code: ErrorCode, reason: string): void => {
      if (nonce !== undefined) rememberRefusedNonce(member, nonce);
      this.refuse(peer, member, 'chat', code, reason, nonce);
    };
    if (!this.host.permits(peer, 'chat')) {
      refuseChat('FORBIDDEN', 'Only hosts and moderators may chat in this room');
      return;
    }
    if (!member.limiters.chat.take()) {
      refuseChat('RATE_LIMITED', 'Too many chat messages; slow down');
      return;
    }
    const post = ChatPost.safeParse(value);
    if (!post.success) {
      refuseChat('BAD_REQUEST', `chat: ${firstIssue(post.error)}`);
      return;
    }
    const { text, nonce: posted } = post.data;
    const message: ChatMessage = {
      seq: ++this.seq,
      from: peer.id,
      name: peer.displayName,
      at: Date.now(),
      text,
      ...(posted === undefined ? {} : { nonce: posted }),
    };
    this.chat.post(message);
    this.broadcast('chat', message);
    this.onPost?.({ label: 'chat', payload: message });
  }

  private postBoard(peer: Peer, op: BoardOp): void {
    this.board.apply(peer.id, op);
    const event: BoardEvent = { ...op, seq: ++this.seq, by: peer.id };
    this.broadcast('board', event);
    this.onPost?.({ label: 'board', payload: event });
  }

  private postFast(peer: Peer, post: FastPost): void {
    const message: FastMessage = { from: peer.id, name: peer.displayName, at: Date.now(), topic: post.topic, data: post.data };
    this.broadcast('fast', message);
    this.onPost?.({ label: 'fast', payload: message });
  }

  private broadcast<L extends DataLabel>(label: L, payload: ServerDataMessages[L]): void {
    this.producers.get(label)?.send(serverDataText(label, payload));
  }

  private refuse(peer: Peer, member: Member, label: DataLabel, code: ErrorCode, message: string, nonce?: string): void {
    if (!mayNotifyRefusal(member, label, code)) return;
    peer.notify('dataRejected', { label, code, message, ...(nonce === undefined ? {} : { nonce }) });
  }
}
