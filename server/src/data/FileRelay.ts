import { ConclaveError, type ErrorCode } from '../../../shared/errors.js';
import {
  decodeChunkHeader,
  FILE_CHUNK_BYTES,
  FILE_WINDOW_BYTES,
  type FileNotice,
  formatBytes,
  MAX_CONCURRENT_FILES,
  serverDataText,
} from '../../../shared/data.js';
import type { ParsedRequestOf, Responses } from '../../../shared/protocol.js';
import type { Peer } from '../rooms/Peer.js';
import type { Outbox } from './Outbox.js';

export interface FileRelayHost {
  /** The outbox of a participant's 'file' data consumer, once its data path is in sync. */
  outboxOf(peer: Peer): Outbox | undefined;
  /** Tells a sender that the server stopped its transfer, and why. */
  reject(peer: Peer, code: ErrorCode, message: string, fileId?: number): void;
}

interface Recipient {
  outbox: Outbox;
  /** Payload bytes this recipient's transport has accepted. */
  forwarded: number;
}

interface Transfer {
  id: number;
  sender: Peer;
  size: number;
  received: number;
  nextSeq: number;
  /** Bytes acknowledged to the sender: accepted by every recipient still in the transfer. */
  acked: number;
  /** Fixed when the file is offered: whoever joins later is never sent part of a file. */
  recipients: Map<Peer, Recipient>;
}

/** Recently stopped transfers remembered, so chunks already on their way are dropped quietly. */
const STOPPED_MEMORY = 256;

/**
 * Relays files through the server. A sender offers a file (signalling), then streams binary
 * chunks on its 'file' channel; each chunk goes to every recipient's outbox, and the sender is
 * acknowledged once all of them took it. The sender never has more than FILE_WINDOW_BYTES
 * unacknowledged, so the server holds at most a window per transfer, however slow a receiver.
 */
export class FileRelay {
  private nextId = 1;
  private readonly transfers = new Map<number, Transfer>();
  private readonly stopped = new Set<number>();

  constructor(
    private readonly host: FileRelayHost,
    private readonly maxFileBytes: number,
  ) {}

  offer(sender: Peer, { name, type, size }: ParsedRequestOf<'offerFile'>, recipients: Peer[]): Responses['offerFile'] {
    if (size > this.maxFileBytes) {
      throw new ConclaveError('TOO_LARGE', `Files are limited to ${formatBytes(this.maxFileBytes)}; this one is ${formatBytes(size)}`);
    }
    if (!this.host.outboxOf(sender)) throw new ConclaveError('BAD_REQUEST', 'Your data channels are not open yet');
    if ([...this.transfers.values()].filter((transfer) => transfer.sender === sender).length >= MAX_CONCURRENT_FILES) {
      throw new ConclaveError('RATE_LIMITED', `You can send ${MAX_CONCURRENT_FILES} files at once; wait for one to finish`);
    }
    const transfer: Transfer = { id: this.nextId++, sender, size, received: 0, nextSeq: 0, acked: 0, recipients: new Map() };
    this.transfers.set(transfer.id, transfer);
    const start: FileNotice = { t: 'start', fileId: transfer.id, from: sender.id, name: sender.displayName, fileName: name, type, size, at: Date.now() };
    for (const peer of recipients) {
      const outbox = this.host.outboxOf(peer);
      if (!outbox || peer === sender) continue;
      transfer.recipients.set(peer, { outbox, forwarded: 0 });
      outbox.push({ data: serverDataText('file', start), fileId: transfer.id });
    }
    if (size === 0) this.complete(transfer);
    return { fileId: transfer.id, chunkBytes: FILE_CHUNK_BYTES, windowBytes: FILE_WINDOW_BYTES };
  }

  /** A binary message from `sender`'s 'file' channel. */
  chunk(sender: Peer, message: Buffer): void {
    const header = decodeChunkHeader(message);
    if (!header) {
      this.host.reject(sender, 'BAD_REQUEST', 'A file chunk starts with an 8-byte header');
      return;
    }
    const transfer = this.transfers.get(header.fileId);
    if (!transfer || transfer.sender !== sender) {
      if (!this.stopped.has(header.fileId)) this.host.reject(sender, 'NOT_FOUND', `No transfer ${header.fileId} of yours`, header.fileId);
      return;
    }
    const problem = this.check(transfer, header.seq, header.payloadBytes);
    if (problem) {
      this.stop(transfer, problem.message, problem.code);
      return;
    }
    transfer.received += header.payloadBytes;
    transfer.nextSeq += 1;
    for (const recipient of transfer.recipients.values()) {
      recipient.outbox.push({
        data: message,
        fileId: transfer.id,
        sent: () => {
          recipient.forwarded += header.payloadBytes;
          this.acknowledge(transfer);
        },
      });
    }
    if (transfer.received === transfer.size) this.complete(transfer);
    else this.acknowledge(transfer);
  }

  /** The sender cancels for everyone; a recipient stops receiving. */
  cancel(peer: Peer, fileId: number): void {
    const transfer = this.transfers.get(fileId);
    if (transfer?.sender === peer) {
      this.stop(transfer, `${peer.displayName} cancelled the transfer`);
      return;
    }
    const recipient = transfer?.recipients.get(peer);
    if (!transfer || !recipient) throw new ConclaveError('NOT_FOUND', `No transfer ${fileId} to or from you`);
    this.dropRecipient(transfer, peer, recipient);
  }

  /** A participant left: its transfers stop, and nothing more is sent to it. */
  leave(peer: Peer): void {
    for (const transfer of [...this.transfers.values()]) {
      if (transfer.sender === peer) {
        this.stop(transfer, `${peer.displayName} left before the transfer finished`);
        continue;
      }
      const recipient = transfer.recipients.get(peer);
      if (recipient) this.dropRecipient(transfer, peer, recipient);
    }
  }

  /** A participant's consumer was replaced: its old outbox is gone, and with it its part in every transfer. */
  outboxClosed(outbox: Outbox): void {
    for (const transfer of [...this.transfers.values()]) {
      for (const [peer, recipient] of transfer.recipients) {
        if (recipient.outbox === outbox) this.dropRecipient(transfer, peer, recipient);
      }
    }
  }

  /**
   * A message of transfer `fileId` could not be sent on `outbox` (its transport is not connected).
   * A recipient missing a chunk cannot get the file whole, so it leaves the transfer; a sender
   * that cannot be acknowledged would wait forever, so the transfer stops.
   */
  undeliverable(outbox: Outbox, fileId: number): void {
    const transfer = this.transfers.get(fileId);
    if (!transfer) return;
    if (this.host.outboxOf(transfer.sender) === outbox) {
      this.stop(transfer, `${transfer.sender.displayName} could not be reached; the transfer stopped`, 'INTERNAL');
      return;
    }
    for (const [peer, recipient] of transfer.recipients) {
      if (recipient.outbox === outbox) this.dropRecipient(transfer, peer, recipient);
    }
  }

  /** Stops every transfer of `sender`, or all of them (the room's data path is being rebuilt). */
  stopAll(reason: string, sender?: Peer): void {
    for (const transfer of [...this.transfers.values()]) {
      if (!sender || transfer.sender === sender) this.stop(transfer, reason, 'INTERNAL');
    }
  }

  private check(transfer: Transfer, seq: number, payloadBytes: number): { code: ErrorCode; message: string } | undefined {
    if (seq !== transfer.nextSeq) return { code: 'BAD_REQUEST', message: `Chunk ${seq} arrived where ${transfer.nextSeq} was expected` };
    if (payloadBytes === 0 || payloadBytes > FILE_CHUNK_BYTES) {
      return { code: 'BAD_REQUEST', message: `A chunk carries 1 to ${FILE_CHUNK_BYTES} bytes` };
    }
    if (transfer.received + payloadBytes > transfer.size) {
      return { code: 'TOO_LARGE', message: `More than the announced ${formatBytes(transfer.size)} arrived; transfer stopped` };
    }
    if (transfer.received + payloadBytes - transfer.acked > FILE_WINDOW_BYTES + FILE_CHUNK_BYTES) {
      return { code: 'RATE_LIMITED', message: 'The sender did not wait for acknowledgements; transfer stopped' };
    }
    return undefined;
  }

  /** Tells the sender how far every recipient got, when that moved. */
  private acknowledge(transfer: Transfer): void {
    if (this.transfers.get(transfer.id) !== transfer) return;
    const forwarded = [...transfer.recipients.values()].map((recipient) => recipient.forwarded);
    const acked = Math.min(transfer.received, ...forwarded);
    if (acked > transfer.acked) {
      transfer.acked = acked;
      this.sendAck(transfer);
    }
    if (transfer.acked === transfer.size && transfer.received === transfer.size) this.forget(transfer);
  }

  private sendAck(transfer: Transfer): void {
    const ack: FileNotice = { t: 'ack', fileId: transfer.id, bytes: transfer.acked };
    this.host.outboxOf(transfer.sender)?.push({ data: serverDataText('file', ack), fileId: transfer.id });
  }

  /** Every byte arrived: recipients get `end` after their last chunk, the sender its last ack. */
  private complete(transfer: Transfer): void {
    const end: FileNotice = { t: 'end', fileId: transfer.id };
    for (const recipient of transfer.recipients.values()) recipient.outbox.push({ data: serverDataText('file', end), fileId: transfer.id });
    // An empty file has no chunk to acknowledge; its one ack says it is done.
    if (transfer.size === 0) this.sendAck(transfer);
    this.acknowledge(transfer);
  }

  private dropRecipient(transfer: Transfer, peer: Peer, recipient: Recipient): void {
    transfer.recipients.delete(peer);
    recipient.outbox.drop(transfer.id);
    this.acknowledge(transfer);
  }

  private stop(transfer: Transfer, reason: string, code?: ErrorCode): void {
    if (this.transfers.get(transfer.id) !== transfer) return;
    this.forget(transfer);
    const cancel: FileNotice = { t: 'cancel', fileId: transfer.id, reason };
    for (const recipient of transfer.recipients.values()) {
      recipient.outbox.drop(transfer.id);
      recipient.outbox.push({ data: serverDataText('file', cancel), fileId: transfer.id });
    }
    this.host.outboxOf(transfer.sender)?.drop(transfer.id);
    if (code) this.host.reject(transfer.sender, code, reason, transfer.id);
  }

  private forget(transfer: Transfer): void {
    this.transfers.delete(transfer.id);
    this.stopped.add(transfer.id);
    if (this.stopped.size > STOPPED_MEMORY) this.stopped.delete(this.stopped.values().next().value ?? 0);
  }
}
