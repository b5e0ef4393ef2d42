import { z } from 'zod';

/**
 * The data plane: what travels over the SCTP data channels between participants and the server,
 * and the limits both sides enforce. Every client DataProducer is consumed by the server, checked
 * here, stamped with its sender, and forwarded by the room's own DataProducer of the same label.
 */

/** One channel per feature; each client produces one DataProducer per label and consumes one per label. */
export const DATA_LABELS = ['chat', 'board', 'file', 'fast'] as const;
export const DataLabel = z.enum(DATA_LABELS);
export type DataLabel = z.infer<typeof DataLabel>;

/**
 * How each channel is delivered. 'fast' is unordered and never retransmitted from the browser
 * (maxRetransmits 0). mediasoup's worker reads a 0 as "unset", so its leg to the receivers uses a
 * short packet lifetime instead: a retransmission that would arrive stale is dropped.
 */
export const DATA_CHANNELS = {
  chat: { ordered: true },
  board: { ordered: true },
  file: { ordered: true },
  fast: { ordered: false, maxRetransmits: 0 },
} as const satisfies Record<DataLabel, { ordered: boolean; maxRetransmits?: number }>;
export const FAST_PACKET_LIFETIME_MS = 150;

/** SCTP payload protocol identifiers (RFC 8831): what a message is, as the receiver sees it. */
export const PPID_STRING = 51;
export const PPID_BINARY = 53;

/** Largest SCTP message either side accepts; a file chunk with its header stays below it. */
export const MAX_SCTP_MESSAGE_BYTES = 262_144;
/** The server's send buffer per association (mediasoup's default is 256 KiB): a file window's worth of chunks fits. */
export const SCTP_SEND_BUFFER_BYTES = 1024 * 1024;

/**
 * Payload bytes per file chunk; a chunk is FILE_CHUNK_HEADER_BYTES of header, then the payload.
 * Larger chunks do not send faster (the worker's SCTP work grows with the bytes) and would hold
 * up chat and whiteboard messages queued behind them on the same association longer.
 */
export const FILE_CHUNK_BYTES = 64 * 1024;
export const FILE_CHUNK_HEADER_BYTES = 8;

/** Largest message, in bytes, per label. */
export const DATA_MESSAGE_MAX_BYTES = {
  chat: 8 * 1024,
  board: 16 * 1024,
  file: FILE_CHUNK_HEADER_BYTES + FILE_CHUNK_BYTES,
  fast: 1024,
} as const satisfies Record<DataLabel, number>;

/** Per participant and label: sustained messages per second and burst (token bucket). */
export const DATA_RATE_LIMITS = {
  chat: { perSecond: 5, burst: 20 },
  board: { perSecond: 120, burst: 240 },
  // File chunks are paced by the transfer window; this only stops a flood of garbage.
  file: { perSecond: 2000, burst: 2000 },
  fast: { perSecond: 40, burst: 80 },
} as const satisfies Record<DataLabel, { perSecond: number; burst: number }>;

export const SctpStreamParametersSchema = z.object({
  // mediasoup's SCTP stack (3.20+) negotiates all 65535 streams; id 65535 is reserved (RFC 8831).
  streamId: z.number().int().min(0).max(65534),
  ordered: z.boolean().optional(),
  maxPacketLifeTime: z.number().int().min(0).max(65535).optional(),
  maxRetransmits: z.number().int().min(0).max(65535).optional(),
});

// ---- chat ----

export const CHAT_MAX_CHARS = 2000;
/** Messages the server keeps for participants who join later. */
export const CHAT_HISTORY = 100;

export const ChatNonce = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'Chat nonce: 8–64 letters, digits, "-" or "_"');

/** What a participant sends on 'chat'. Text is shown as text (never HTML), so only invisible tricks are refused. */
export const ChatPost = z.strictObject({
  text: z
    .string()
    .trim()
    .min(1, 'Message is empty')
    .max(CHAT_MAX_CHARS, `Message is at most ${CHAT_MAX_CHARS} characters`)
    // Newlines and tabs are text; other control characters and bidi overrides are not (emoji joiners are).
    .regex(/^(?:[^\p{Cc}\u202A-\u202E\u2066-\u2069]|[\n\t])*$/u, 'Message may not contain control characters'),
  /**
   * The sender's id for this message, random: a message resent after a connection reset (it may
   * or may not have got through before) is posted once, and the sender knows its own echo.
   */
  nonce: ChatNonce.optional(),
});
export type ChatPost = z.infer<typeof ChatPost>;
/** Unconfirmed messages a client keeps to resend after a reset; beyond it the oldest is given up. */
export const CHAT_MAX_PENDING = 50;

/** A chat message as everyone receives it: stamped by the server. */
export interface ChatMessage {
  /** Room-wide order of chat and whiteboard events; a late joiner's history ends at a seq. */
  seq: number;
  from: string;
  name: string;
  at: number;
  text: string;
  /** The sender's nonce, when it gave one. */
  nonce?: string;
}

// ---- whiteboard ----

/** The board's own coordinate space (16:9); every canvas scales it to its size. */
export const BOARD_WIDTH = 1600;
export const BOARD_HEIGHT = 900;
export const BOARD_MAX_STROKES = 5000;
export const BOARD_MAX_POINTS = 250_000;
export const STROKE_MAX_POINTS = 4000;
/** Points one board message carries at most; the client cuts longer strokes into messages of this size. */
export const POINTS_PER_MESSAGE = 500;

export const BoardTool = z.enum(['pen', 'eraser']);
export type BoardTool = z.infer<typeof BoardTool>;

/** Flat [x0, y0, x1, y1, …] in board coordinates. */
const Points = z
  .array(z.number().int().min(0).max(BOARD_WIDTH))
  .min(2)
  .max(POINTS_PER_MESSAGE * 2)
  .refine((points) => points.length % 2 === 0, 'points come in x, y pairs')
  .refine((points) => points.every((value, index) => index % 2 === 0 || value <= BOARD_HEIGHT), `y is at most ${BOARD_HEIGHT}`);

/** Where a stroke is kept: ids are unique per author, so the author is part of the key. */
export function strokeKey(by: string, id: number): string {
  return `${by}/${id}`;
}

/** A stroke id, unique among its author's strokes. */
const StrokeId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** What a participant sends on 'board': a stroke begins, grows, or the board is cleared. */
export const BoardOp = z.discriminatedUnion('t', [
  z.strictObject({
    t: z.literal('begin'),
    id: StrokeId,
    tool: BoardTool,
    color: z.string().regex(/^#[0-9a-f]{6}$/i, 'colour is #rrggbb'),
    size: z.number().int().min(1).max(64),
    points: Points,
  }),
  z.strictObject({ t: z.literal('extend'), id: StrokeId, points: Points }),
  z.strictObject({ t: z.literal('clear') }),
]);
export type BoardOp = z.infer<typeof BoardOp>;

/** A board operation as everyone receives it: stamped with its author and room-wide order. */
export type BoardEvent = BoardOp & { seq: number; by: string };

export interface BoardStroke {
  by: string;
  id: number;
  tool: BoardTool;
  color: string;
  size: number;
  points: number[];
}

// ---- fast (unreliable) ----

/** JSON of any shape; the byte limit bounds it. */
const JsonValue = z.json();

/** What an application sends on 'fast': a topic and a small JSON value (cursor positions, game state). */
export const FastPost = z.strictObject({
  topic: z.string().regex(/^[A-Za-z][\w.-]{0,31}$/, 'topic is 1–32 letters, digits, "_", "-" or ".", starting with a letter'),
  data: JsonValue,
});
export type FastPost = z.infer<typeof FastPost>;

export interface FastMessage {
  from: string;
  name: string;
  at: number;
  topic: string;
  data: z.infer<typeof JsonValue>;
}

// ---- files ----

/**
 * Bytes a sender may have in flight beyond what every receiver has taken. The server
 * acknowledges a chunk once each receiver's SCTP send buffer accepted it, so a slow receiver
 * slows the sender instead of the server buffering the file.
 */
export const FILE_WINDOW_BYTES = 1024 * 1024;
/** Transfers one participant may have running at once. */
export const MAX_CONCURRENT_FILES = 3;

export const FileName = z
  .string()
  .trim()
  .min(1, 'File name is required')
  .max(255, 'File name is at most 255 characters')
  .regex(/^[^\p{Cc}\u202A-\u202E\u2066-\u2069/\\]+$/u, 'File name may not contain control characters, bidi overrides or slashes');

/** A MIME type, or empty when the browser does not know it. */
export const FileType = z
  .string()
  .max(127)
  .regex(/^(?:[\w.+-]+\/[\w.+-]+(?:\s*;\s*[\w.+-]+=[\w.+-]+)*)?$/, 'not a MIME type');

/** What the server sends on 'file', besides binary chunks. */
export type FileNotice =
  /** A transfer to you begins; chunks and then `end` follow. */
  | { t: 'start'; fileId: number; from: string; name: string; fileName: string; type: string; size: number; at: number }
  /** Every chunk was forwarded; the file is complete. */
  | { t: 'end'; fileId: number }
  /** The transfer stopped (the sender cancelled or left, or the server refused more). */
  | { t: 'cancel'; fileId: number; reason: string }
  /** To the sender: this many bytes have reached every receiver's transport. */
  | { t: 'ack'; fileId: number; bytes: number };

// ---- what each channel carries ----

/** JSON text a client sends, by label (the file channel carries binary chunks up, no JSON). */
export interface ClientDataMessages {
  chat: ChatPost;
  board: BoardOp;
  fast: FastPost;
}

/** JSON text the server sends, by label (besides binary chunks on 'file'): validated and stamped, so trusted. */
export interface ServerDataMessages {
  chat: ChatMessage;
  board: BoardEvent;
  fast: FastMessage;
  file: FileNotice;
}

/** The text of a client's message on `label`: the label picks the type, so a board op cannot go on 'chat'. */
export function clientDataText<L extends keyof ClientDataMessages>(_label: L, message: ClientDataMessages[L]): string {
  return JSON.stringify(message);
}

/** The text of the server's message on `label`. */
export function serverDataText<L extends DataLabel>(_label: L, message: ServerDataMessages[L]): string {
  return JSON.stringify(message);
}

/** A server message received on `label`; the server checked it, so it is read without a schema. */
export function readServerData<L extends DataLabel>(_label: L, text: string): ServerDataMessages[L] {
  return JSON.parse(text) as ServerDataMessages[L];
}

/** A size as people read it: 512 B, 3.4 KiB, 12.0 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A chunk: file id and sequence number (both uint32, big-endian), then the payload. */
export function encodeChunk(fileId: number, seq: number, payload: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(FILE_CHUNK_HEADER_BYTES + payload.byteLength);
  const header = new DataView(chunk.buffer);
  header.setUint32(0, fileId);
  header.setUint32(4, seq);
  chunk.set(payload, FILE_CHUNK_HEADER_BYTES);
  return chunk;
}

export function decodeChunkHeader(chunk: Uint8Array): { fileId: number; seq: number; payloadBytes: number } | undefined {
  if (chunk.byteLength < FILE_CHUNK_HEADER_BYTES) return undefined;
  const header = new DataView(chunk.buffer, chunk.byteOffset, FILE_CHUNK_HEADER_BYTES);
  return { fileId: header.getUint32(0), seq: header.getUint32(4), payloadBytes: chunk.byteLength - FILE_CHUNK_HEADER_BYTES };
}
