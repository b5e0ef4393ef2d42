import type { types } from 'mediasoup-client';
import { decodeChunkHeader, encodeChunk, FILE_CHUNK_HEADER_BYTES, FileName, FileType, formatBytes, type FileNotice } from '../../../../shared/data.js';
import { ConclaveError, type ErrorCode } from '../../../../shared/errors.js';
import { firstIssue } from '../../../../shared/identity.js';
import type { Notifications } from '../../../../shared/protocol.js';
import { TypedEmitter } from '../../../../shared/TypedEmitter.js';
import type { DataPort } from './DataPort.js';

/**
 * Types a browser shows without running anything. The download link of any other file (HTML, SVG,
 * XML, scripts, unknown) serves it as plain bytes: opened in a tab, a blob URL runs in this page's
 * origin, so a shared file must never be able to render as active content there.
 */
const PASSIVE_TYPE = /^(?:image\/(?:png|jpeg|gif|webp|avif|bmp)|audio\/[\w.+-]+|video\/[\w.+-]+|application\/pdf|text\/plain)(?:;|$)/i;

function downloadType(type: string): string {
  return PASSIVE_TYPE.test(type) ? type : 'application/octet-stream';
}

/** Above this many bytes queued in the browser's data channel, the sender waits for it to drain. */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
/** Longest wait between checks while a transfer is held back (acknowledgements normally wake it sooner). */
const POLL_MS = 100;

export type TransferState = 'sending' | 'receiving' | 'complete' | 'cancelled' | 'failed';

/**
 * Why a transfer failed, for a view to say in the reader's language: the server's error code, or
 * what happened here (the connection was reset, we left, bytes missing, chunks out of order).
 */
export type TransferFailure = ErrorCode | 'reset' | 'left' | 'incomplete' | 'outOfOrder';

const RESET_REASON = 'The connection was reset; send the file again';

/** The file channel went while sending (a media reset or a new join). */
class ChannelResetError extends Error {
  constructor() {
    super(RESET_REASON);
    this.name = 'ChannelResetError';
  }
}

/** One file going to the room or coming from someone in it. */
export interface FileTransfer {
  /** The server's id for the transfer, the same for the sender and every receiver. */
  id: number;
  direction: 'send' | 'receive';
  from: string;
  fromName: string;
  name: string;
  /** MIME type, or '' when unknown. */
  type: string;
  size: number;
  /** Sent: bytes every receiver has taken; received: bytes arrived. */
  bytes: number;
  state: TransferState;
  /** Why it was cancelled or failed (technical detail, in English). */
  reason?: string;
  /** Why it failed, as something a view can translate; absent when nothing more is known. */
  failure?: TransferFailure;
  startedAt: number;
  finishedAt?: number;
  /** How many progress updates there were. */
  progressEvents: number;
  /** A received file, once complete: an object URL to download it from. */
  url?: string;
}

export interface SendFileOptions {
  /** The name receivers see; defaults to the File's own. */
  name?: string;
  /** MIME type; defaults to the Blob's own. */
  type?: string;
  /** Caps the sending rate, e.g. so a large file does not crowd out the call on a slow uplink. */
  maxBytesPerSecond?: number;
}

export type FileEvents = {
  /** A transfer began (ours, or one to us). */
  added: [transfer: FileTransfer];
  progress: [transfer: FileTransfer];
  /** Complete, cancelled or failed. */
  finished: [transfer: FileTransfer];
};

interface Outgoing {
  transfer: FileTransfer;
  /** Wakes the sending loop (an acknowledgement came, the buffer drained, or it was stopped). */
  wake: () => void;
}

interface Incoming {
  transfer: FileTransfer;
  chunks: Uint8Array[];
  nextSeq: number;
}

/**
 * Files to and from the room, through the server. A file is offered (signalling), then sent in
 * chunks on the ordered, reliable 'file' channel. The sender keeps at most the server's window
 * unacknowledged and waits while the browser's own buffer is full; the server acknowledges once
 * every receiver took a chunk, which is also the sender's progress. A receiver only accepts a
 * transfer it saw start, so one that joined in the middle never holds a broken file.
 */
export class FileTransfers extends TypedEmitter<FileEvents> {
  private readonly all: FileTransfer[] = [];
  private readonly outgoing = new Map<number, Outgoing>();
  private readonly incoming = new Map<number, Incoming>();
  private readonly blobs = new Map<number, Blob>();
  /** The server's limit, known after the first sync. */
  maxFileBytes: number | null = null;

  constructor(private readonly port: DataPort) {
    super();
  }

  list(): readonly FileTransfer[] {
    return this.all;
  }

  /** The file of a transfer: the original for ours, the received one once complete. */
  blob(id: number): Blob | undefined {
    return this.blobs.get(id);
  }

  /** Offers `file` to the room and starts sending it; resolves once the server accepted the offer. */
  async send(file: Blob, options: SendFileOptions = {}): Promise<FileTransfer> {
    const name = FileName.safeParse(options.name ?? (file instanceof File ? file.name : ''));
    if (!name.success) throw new ConclaveError('BAD_REQUEST', firstIssue(name.error));
    const type = FileType.safeParse(options.type ?? file.type);
    if (this.maxFileBytes !== null && file.size > this.maxFileBytes) {
      throw new ConclaveError('TOO_LARGE', `Files are limited to ${formatBytes(this.maxFileBytes)}; ${name.data} is ${formatBytes(file.size)}`);
    }
    await this.port.whenReady();
    const offer = { name: name.data, type: type.success ? type.data : '', size: file.size };
    const { fileId, chunkBytes, windowBytes } = await this.port.signaling.request('offerFile', offer);
    const transfer: FileTransfer = {
      id: fileId,
      direction: 'send',
      from: this.port.selfId() ?? '',
      fromName: 'You',
      ...offer,
      bytes: 0,
      state: 'sending',
      startedAt: Date.now(),
      progressEvents: 0,
    };
    const entry: Outgoing = { transfer, wake: () => undefined };
    this.outgoing.set(fileId, entry);
    this.blobs.set(fileId, file);
    this.add(transfer);
    void this.stream(entry, file, chunkBytes, windowBytes, options.maxBytesPerSecond).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const failure = error instanceof ConclaveError ? error.code : error instanceof ChannelResetError ? 'reset' : undefined;
      this.finish(transfer, 'failed', message, failure);
    });
    return transfer;
  }

  /** Stops a transfer: ours for everyone, or one to us for us. */
  async cancel(id: number): Promise<void> {
    const transfer = this.outgoing.get(id)?.transfer ?? this.incoming.get(id)?.transfer;
    if (!transfer) return;
    this.finish(transfer, 'cancelled');
    await this.port.signaling.request('cancelFile', { fileId: id }).catch(() => undefined);
  }

  /** A control message on the 'file' channel. */
  notice(notice: FileNotice): void {
    switch (notice.t) {
      case 'start': {
        const transfer: FileTransfer = {
          id: notice.fileId,
          direction: 'receive',
          from: notice.from,
          fromName: notice.name,
          name: notice.fileName,
          type: notice.type,
          size: notice.size,
          bytes: 0,
          state: 'receiving',
          startedAt: Date.now(),
          progressEvents: 0,
        };
        this.incoming.set(notice.fileId, { transfer, chunks: [], nextSeq: 0 });
        this.add(transfer);
        return;
      }
      case 'end': {
        const entry = this.incoming.get(notice.fileId);
        if (!entry) return;
        const { transfer, chunks } = entry;
        if (transfer.bytes !== transfer.size) {
          this.finish(transfer, 'failed', `Only ${formatBytes(transfer.bytes)} of ${formatBytes(transfer.size)} arrived`, 'incomplete');
          return;
        }
        const blob = new Blob(chunks as BlobPart[], { type: transfer.type });
        this.blobs.set(transfer.id, blob);
        transfer.url = URL.createObjectURL(blob.slice(0, blob.size, downloadType(transfer.type)));
        this.finish(transfer, 'complete');
        return;
      }
      case 'cancel': {
        const transfer = this.incoming.get(notice.fileId)?.transfer;
        if (transfer) this.finish(transfer, 'cancelled', notice.reason);
        return;
      }
      case 'ack': {
        const entry = this.outgoing.get(notice.fileId);
        if (!entry) return;
        this.progress(entry.transfer, notice.bytes);
        if (notice.bytes === entry.transfer.size) this.finish(entry.transfer, 'complete');
        entry.wake();
        return;
      }
    }
  }

  /** A binary chunk on the 'file' channel; only for a transfer we saw start. */
  chunk(chunk: Uint8Array): void {
    const header = decodeChunkHeader(chunk);
    const entry = header && this.incoming.get(header.fileId);
    if (!header || !entry) return;
    if (header.seq !== entry.nextSeq) {
      this.finish(entry.transfer, 'failed', `Chunk ${header.seq} arrived where ${entry.nextSeq} was expected`, 'outOfOrder');
      return;
    }
    entry.nextSeq += 1;
    entry.chunks.push(chunk.slice(FILE_CHUNK_HEADER_BYTES));
    this.progress(entry.transfer, entry.transfer.bytes + header.payloadBytes);
  }

  /** The server stopped one of our transfers. */
  rejected({ fileId, code, message }: Notifications['dataRejected']): void {
    const transfer = fileId === undefined ? undefined : this.outgoing.get(fileId)?.transfer;
    if (transfer) this.finish(transfer, 'failed', message, code);
  }

  /** The data channels went (a media reset or a new join): nothing in flight can finish. */
  interrupt(reason = RESET_REASON, failure: TransferFailure = 'reset'): void {
    for (const { transfer } of [...this.outgoing.values(), ...this.incoming.values()]) this.finish(transfer, 'failed', reason, failure);
  }

  /** Releases the received files (leaving the page's memory). */
  close(): void {
    this.interrupt('Left the room', 'left');
    for (const transfer of this.all) if (transfer.url) URL.revokeObjectURL(transfer.url);
  }

  private async stream(entry: Outgoing, file: Blob, chunkBytes: number, windowBytes: number, maxBytesPerSecond?: number): Promise<void> {
    const { transfer } = entry;
    const startedAt = performance.now();
    let offset = 0;
    for (let seq = 0; offset < transfer.size; seq++) {
      for (;;) {
        if (transfer.state !== 'sending') return;
        const producer = this.port.producer('file');
        if (!producer) throw new ChannelResetError();
        const due = maxBytesPerSecond ? startedAt + (offset / maxBytesPerSecond) * 1000 - performance.now() : 0;
        if (offset - transfer.bytes < windowBytes && producer.bufferedAmount < HIGH_WATER_BYTES && due <= 0) break;
        producer.bufferedAmountLowThreshold = LOW_WATER_BYTES;
        await this.nextWake(entry, producer, due > 0 ? Math.min(due, POLL_MS) : POLL_MS);
      }
      const payload = new Uint8Array(await file.slice(offset, offset + chunkBytes).arrayBuffer());
      if (transfer.state !== 'sending') return;
      const producer = this.port.producer('file');
      if (!producer) throw new ChannelResetError();
      producer.send(encodeChunk(transfer.id, seq, payload));
      offset += payload.byteLength;
    }
  }

  /** Resolves on an acknowledgement, when the channel's buffer drains, or after `ms`. */
  private nextWake(entry: Outgoing, producer: types.DataProducer, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        producer.off('bufferedamountlow', done);
        entry.wake = () => undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      producer.once('bufferedamountlow', done);
      entry.wake = done;
    });
  }

  private add(transfer: FileTransfer): void {
    this.all.push(transfer);
    this.emit('added', transfer);
  }

  private progress(transfer: FileTransfer, bytes: number): void {
    transfer.bytes = bytes;
    transfer.progressEvents += 1;
    this.emit('progress', transfer);
  }

  private finish(transfer: FileTransfer, state: 'complete' | 'cancelled' | 'failed', reason?: string, failure?: TransferFailure): void {
    if (transfer.state !== 'sending' && transfer.state !== 'receiving') return;
    transfer.state = state;
    if (reason) transfer.reason = reason;
    if (failure) transfer.failure = failure;
    transfer.finishedAt = Date.now();
    const outgoing = this.outgoing.get(transfer.id);
    if (outgoing?.transfer === transfer) {
      this.outgoing.delete(transfer.id);
      outgoing.wake();
    }
    if (this.incoming.get(transfer.id)?.transfer === transfer) this.incoming.delete(transfer.id);
    this.emit('finished', transfer);
  }
}
