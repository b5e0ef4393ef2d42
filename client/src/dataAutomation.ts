import type { BoardStroke, ChatMessage, FastMessage } from '../../shared/data.js';
import type { Notifications } from '../../shared/protocol.js';
import type { DataChannels } from './conference/data/DataChannels.js';
import type { FileTransfer, SendFileOptions } from './conference/data/FileTransfers.js';
import type { StrokeStyle } from './conference/data/Whiteboard.js';

/** A file built inside the page (File objects cannot cross from a test runner into the page). */
export interface FileInput {
  name: string;
  type?: string;
  bytes: Uint8Array | ArrayBuffer;
}

/** Rejections kept for `dataRejections()`. */
const REJECTIONS_KEPT = 50;

/** The data-channel part of `window.conclave` (documented in README's automation contract). */
export interface DataAutomation {
  /** Resolves once the data channels are open and in sync with the room. */
  dataReady(): Promise<void>;
  chat: {
    send(text: string): Promise<void>;
    messages(): ChatMessage[];
  };
  /** Offers a file to the room and starts sending it; resolves with the transfer id once the server accepted it. */
  sendFile(file: Blob | FileInput, options?: SendFileOptions): Promise<number>;
  /** Every transfer of this page, sent and received (without the bytes). */
  files(): FileTransfer[];
  /** The bytes of a transfer: what we sent, or what we received once complete. */
  fileBlob(id: number): Blob | undefined;
  cancelFile(id: number): Promise<void>;
  whiteboard: {
    /** The confirmed strokes, in the room's order (board coordinates, 1600 × 900). */
    strokes(): BoardStroke[];
    /** Draws one stroke through flat [x0, y0, x1, y1, …]; false when not connected. */
    draw(points: number[], style?: Partial<StrokeStyle>): boolean;
    clear(): boolean;
  };
  /** Unordered, unreliable messages (maxRetransmits 0) to everyone else. */
  fast: {
    send(topic: string, data: unknown): boolean;
    received(): FastMessage[];
  };
  /** What the server refused of ours (invalid, too fast, too large), latest last. */
  dataRejections(): Notifications['dataRejected'][];
}

export function dataAutomation(data: DataChannels): DataAutomation {
  const rejections: Notifications['dataRejected'][] = [];
  data.on('rejected', (rejection) => {
    rejections.push(rejection);
    if (rejections.length > REJECTIONS_KEPT) rejections.shift();
  });
  return {
    dataReady: () => (data.ready ? Promise.resolve() : new Promise((resolve) => data.once('ready', resolve))),
    chat: {
      send: (text) => data.chat.send(text),
      messages: () => data.chat.messages.map((message) => ({ ...message })),
    },
    sendFile: async (file, options = {}) => {
      const blob = file instanceof Blob ? file : new Blob([file.bytes as BlobPart], { type: file.type ?? '' });
      const name = file instanceof Blob ? options.name : (options.name ?? file.name);
      const transfer = await data.files.send(blob, { ...options, ...(name === undefined ? {} : { name }) });
      return transfer.id;
    },
    files: () => data.files.list().map((transfer) => ({ ...transfer })),
    fileBlob: (id) => data.files.blob(id),
    cancelFile: (id) => data.files.cancel(id),
    whiteboard: {
      strokes: () => data.board.list().map((stroke) => ({ ...stroke, points: [...stroke.points] })),
      draw: (points, style = {}) => data.board.draw({ tool: 'pen', color: '#1f6feb', size: 4, ...style }, points),
      clear: () => data.board.clear(),
    },
    fast: {
      send: (topic, payload) => data.fast.send(topic, payload),
      received: () => data.fast.received().map((message) => ({ ...message })),
    },
    dataRejections: () => [...rejections],
  };
}
