import type { types } from 'mediasoup-client';
import { type BoardEvent, type ChatMessage, DATA_CHANNELS, DATA_LABELS, DataLabel, readServerData } from '../../../../shared/data.js';
import type { DataConsumerInfo, Notifications } from '../../../../shared/protocol.js';
import { TypedEmitter } from '../../../../shared/TypedEmitter.js';
import type { Signaling } from '../Signaling.js';
import { Chat } from './Chat.js';
import type { DataPort } from './DataPort.js';
import { FastChannel } from './FastChannel.js';
import { FileTransfers } from './FileTransfers.js';
import { Whiteboard } from './Whiteboard.js';

export type DataChannelEvents = {
  /** Open and in sync with the room: after joining, a media reset, or a resume. */
  ready: [];
  /** Closed for now (transports being replaced); `ready` follows when they are back. */
  interrupted: [];
  /** The server refused something we sent on a channel (not forwarded). */
  rejected: [rejection: Notifications['dataRejected']];
};

/** Chat and whiteboard events carry the room-wide order; these are the ones seen last, per channel. */
type Sequenced = { chat: ChatMessage; board: BoardEvent };

/**
 * Our data channels through the SFU, and the features built on them. For each label we produce
 * one DataProducer on the send transport and consume the room's one on the receive transport;
 * the server reads ours and forwards to everyone. When every channel is open we ask for the
 * room's history (dataSync) and from then on apply live events after it, by sequence number, so
 * nothing is missed or doubled however the history and live traffic interleave. New transports
 * (media reset, rejoin) bring the channels back; a resume only catches up.
 */
export class DataChannels extends TypedEmitter<DataChannelEvents> {
  readonly chat: Chat;
  readonly board: Whiteboard;
  readonly files: FileTransfers;
  readonly fast: FastChannel;
  private sendTransport: types.Transport | null = null;
  private recvTransport: types.Transport | null = null;
  private readonly producers = new Map<DataLabel, types.DataProducer>();
  private readonly consumers = new Map<DataLabel, types.DataConsumer>();
  /** Announcements for a receive transport we do not have yet (they can overtake the join answer). */
  private announced: DataConsumerInfo[] = [];
  /** Highest seq applied per channel; null until the first sync. */
  private covered: Record<keyof Sequenced, number> | null = null;
  /** Live chat and board events held while a sync is under way; null when not syncing. */
  private held: { label: keyof Sequenced; event: ChatMessage | BoardEvent }[] | null = [];
  /** The send transport our channels are being opened on. */
  private opening: types.Transport | null = null;
  private syncs = 0;
  private isReady = false;
  /** Our channels were replaced since the last sync: what we sent into the old ones may be lost. */
  private replaced = false;
  /** Bumped whenever channels close: a sync answer from before that is stale. */
  private generation = 0;
  private readyWaiters: (() => void)[] = [];

  constructor(
    private readonly signaling: Signaling,
    /** Our participant id (it changes when we join afresh). */
    readonly selfId: () => string | null,
    private readonly report: (error: unknown) => void,
  ) {
    super();
    const port: DataPort = {
      producer: (label) => {
        const producer = this.producers.get(label);
        return this.isReady && producer?.readyState === 'open' ? producer : undefined;
      },
      whenReady: () => (this.isReady ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve))),
      selfId,
      signaling,
    };
    this.chat = new Chat(port);
    this.board = new Whiteboard(port);
    this.files = new FileTransfers(port);
    this.fast = new FastChannel(port);
    signaling.on('newDataConsumer', (info) => this.announce(info));
    signaling.on('dataConsumerClosed', ({ dataConsumerId }) => {
      for (const [label, consumer] of this.consumers) if (consumer.id === dataConsumerId) this.dropConsumer(label, consumer);
    });
    signaling.on('dataRejected', (rejection) => {
      if (rejection.fileId !== undefined) this.files.rejected(rejection);
      if (rejection.label === 'chat' && rejection.nonce !== undefined) this.chat.refused(rejection.nonce);
      this.emit('rejected', rejection);
    });
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** New transports (after joining or a media reset): the room's channels to us open on the receive one. */
  attach(send: types.Transport, recv: types.Transport): void {
    this.detach();
    this.sendTransport = send;
    this.recvTransport = recv;
    send.on('producedata', ({ sctpStreamParameters, label, protocol }, callback, errback) => {
      const parsed = DataLabel.safeParse(label);
      const { streamId } = sctpStreamParameters;
      if (!parsed.success || streamId === undefined) {
        errback(new Error(`Cannot open data channel ${String(label)}`));
        return;
      }
      this.signaling
        .request('produceData', { transportId: send.id, label: parsed.data, sctpStreamParameters: { ...sctpStreamParameters, streamId }, protocol })
        .then(({ dataProducerId }) => callback({ id: dataProducerId }), errback);
    });
    const waiting = this.announced.filter((info) => info.transportId === recv.id);
    this.announced = [];
    for (const info of waiting) void this.consume(recv, info);
  }

  /**
   * Opens our channels on the send transport, once per transport. Called after the camera and
   * microphone are published: each channel is a round trip on the transport's queue, and the first
   * video should not wait behind them.
   */
  open(): void {
    const send = this.sendTransport;
    if (!send || send.closed || this.opening === send) return;
    this.opening = send;
    for (const label of DATA_LABELS) void this.produce(send, label);
  }

  /** The transports are going (media reset, lost place): channels close until the next attach. */
  detach(): void {
    const wasReady = this.isReady;
    this.isReady = false;
    this.generation += 1;
    if (this.producers.size > 0) {
      this.replaced = true;
      this.board.interrupted();
    }
    this.held ??= [];
    for (const producer of this.producers.values()) producer.close();
    for (const consumer of this.consumers.values()) consumer.close();
    this.producers.clear();
    this.consumers.clear();
    this.sendTransport = null;
    this.recvTransport = null;
    this.files.interrupt();
    if (wasReady) this.emit('interrupted');
  }

  /** We are a new participant (the old place was lost): the room's state comes afresh with the next sync. */
  reset(): void {
    this.detach();
    // A new participant: nothing of the old one's is ours to resend.
    this.replaced = false;
    this.covered = null;
    this.chat.clear();
    this.board.reset();
  }

  /** Back after a dropped connection with our place kept: catch up on what happened meanwhile. */
  resync(): void {
    if (this.isReady) void this.sync();
  }

  close(): void {
    this.detach();
    this.files.close();
    this.readyWaiters = [];
  }

  private announce(info: DataConsumerInfo): void {
    const recv = this.recvTransport;
    if (recv && info.transportId === recv.id) void this.consume(recv, info);
    else this.announced.push(info);
  }

  private async produce(send: types.Transport, label: DataLabel): Promise<void> {
    try {
      const producer = await send.produceData({ ...DATA_CHANNELS[label], label });
      if (send !== this.sendTransport) {
        producer.close();
        return;
      }
      this.producers.set(label, producer);
      producer.on('open', () => this.maybeSync());
      this.maybeSync();
    } catch (error) {
      if (send === this.sendTransport) this.report(error);
    }
  }

  private async consume(recv: types.Transport, info: DataConsumerInfo): Promise<void> {
    try {
      const consumer = await recv.consumeData({
        id: info.id,
        dataProducerId: info.dataProducerId,
        sctpStreamParameters: info.sctpStreamParameters,
        label: info.label,
        protocol: info.protocol,
      });
      if (recv !== this.recvTransport) {
        consumer.close();
        return;
      }
      consumer.binaryType = 'arraybuffer';
      this.consumers.get(info.label)?.close();
      this.consumers.set(info.label, consumer);
      consumer.on('message', (data: unknown) => this.receive(info.label, data));
      consumer.on('open', () => this.maybeSync());
      this.maybeSync();
    } catch (error) {
      if (recv === this.recvTransport) this.report(error);
    }
  }

  /**
   * The room closed one of its channels to us (its data plane moved to another worker): until the
   * replacement is open, events may be missed, so we hold, and sync again once it is.
   */
  private dropConsumer(label: DataLabel, consumer: types.DataConsumer): void {
    consumer.close();
    if (this.consumers.get(label) !== consumer) return;
    this.consumers.delete(label);
    this.generation += 1;
    this.held ??= [];
    if (this.isReady) {
      this.isReady = false;
      this.emit('interrupted');
    }
  }

  /** Every channel open both ways, and not yet in sync: ask for the room's history. */
  private maybeSync(): void {
    if (this.isReady || this.syncs > 0) return;
    const open = (channels: Map<DataLabel, { readyState: RTCDataChannelState }>): boolean =>
      DATA_LABELS.every((label) => channels.get(label)?.readyState === 'open');
    if (open(this.producers) && open(this.consumers)) void this.sync();
  }

  private async sync(): Promise<void> {
    this.syncs += 1;
    this.held ??= [];
    const generation = this.generation;
    try {
      const snapshot = await this.signaling.request('dataSync', {});
      // Channels closed while we asked: the answer may miss what goes on them; their replacements sync anew.
      if (generation !== this.generation) return;
      this.files.maxFileBytes = snapshot.maxFileBytes;
      this.chat.catchUp(snapshot.chat);
      this.board.load(snapshot.board);
      this.covered = { chat: snapshot.seq, board: snapshot.seq };
      const held = this.held ?? [];
      this.held = null;
      for (const { label, event } of held) this.applySequenced(label, event);
      this.isReady = true;
      // Before anything new: what we sent into the connection that died goes first, in order.
      this.chat.resendUnconfirmed();
      if (this.replaced) {
        this.replaced = false;
        this.board.resendLost();
      }
      for (const resolve of this.readyWaiters.splice(0)) resolve();
      this.emit('ready');
    } catch (error) {
      this.report(error);
    } finally {
      this.syncs -= 1;
      if (generation !== this.generation) this.maybeSync();
    }
  }

  private receive(label: DataLabel, data: unknown): void {
    try {
      if (label === 'file') {
        if (data instanceof ArrayBuffer) this.files.chunk(new Uint8Array(data));
        else if (typeof data === 'string') this.files.notice(readServerData('file', data));
        return;
      }
      if (typeof data !== 'string') return;
      if (label === 'fast') this.fast.receive(readServerData(label, data));
      else if (label === 'chat') this.applySequenced(label, readServerData(label, data));
      else this.applySequenced(label, readServerData(label, data));
    } catch (error) {
      this.report(error);
    }
  }

  /** Applies a chat or board event once, in order: held during a sync, skipped if the history had it. */
  private applySequenced<L extends keyof Sequenced>(label: L, event: Sequenced[L]): void {
    if (this.held) {
      this.held.push({ label, event });
      return;
    }
    if (!this.covered || event.seq <= this.covered[label]) return;
    this.covered[label] = event.seq;
    if (label === 'chat') this.chat.receive(event as ChatMessage);
    else this.board.apply(event as BoardEvent);
  }
}
