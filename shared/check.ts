import { z } from 'zod';
import type { types as client } from 'mediasoup-client';
import type { Result } from './errors.js';
import type { IceServerInfo } from './protocol.js';
import { EmptyRequest, Id } from './schemas.js';
import { DtlsParametersSchema } from './rtp.js';

/**
 * The pre-call check's own protocol, on the Socket.IO namespace CHECK_NAMESPACE, apart from the
 * room protocol (shared/protocol.ts): the check never joins a room. Requests are emits with an
 * acknowledgement carrying a Result, as in the room protocol. See docs/check.md.
 */

export const CHECK_NAMESPACE = '/check';

/**
 * How media is allowed to reach the server in one test: `udp` and `tcp` are the server's own
 * candidates of that protocol only; `relay` makes the browser go through TURN (iceTransportPolicy 'relay').
 */
export const CheckPath = z.enum(['udp', 'tcp', 'relay']);
export type CheckPath = z.infer<typeof CheckPath>;

/** The bounds a check works within (the server enforces them; the client plans with them). */
export interface CheckLimits {
  /** A check transport that has not connected by then counts as failed; it is closed after `transportLifetimeMs`. */
  connectTimeoutMs: number;
  transportLifetimeMs: number;
  /** Each bandwidth direction runs at most this long and moves at most this many bytes. */
  bandwidthMs: number;
  bandwidthBytes: number;
  /** The size of one bulk message. */
  chunkBytes: number;
}

export const OpenCheckTransportRequest = z.object({ path: CheckPath });
export const ConnectCheckTransportRequest = z.object({ transportId: Id, dtlsParameters: DtlsParametersSchema });
export const CheckTransportRequest = z.object({ transportId: Id });

export const CheckRequests = {
  /** Answers at once: the signalling round trip. */
  ping: EmptyRequest,
  openTransport: OpenCheckTransportRequest,
  connectTransport: ConnectCheckTransportRequest,
  closeTransport: CheckTransportRequest,
  /** Counts what the browser pushes on the bulk channel for up to `bandwidthMs`, then answers. */
  upload: CheckTransportRequest,
  /** Pushes bulk messages to the browser for up to `bandwidthMs`, then answers with what it sent. */
  download: CheckTransportRequest,
} as const;
export type CheckRequestName = keyof typeof CheckRequests;
export type CheckRequestOf<K extends CheckRequestName> = z.input<(typeof CheckRequests)[K]>;
export type ParsedCheckRequestOf<K extends CheckRequestName> = z.output<(typeof CheckRequests)[K]>;

/**
 * The SCTP stream ids of a check transport's data channels (the browser opens them as negotiated
 * channels): `echo` comes straight back from the media worker (the round trip), `bulk` carries the
 * bandwidth test both ways. `send` is the stream the browser sends on, `receive` the one it reads.
 */
export interface CheckChannels {
  echo: { send: number; receive: number };
  bulk: { send: number; receive: number };
}

export interface CheckTransportInfo {
  transportId: string;
  iceParameters: client.IceParameters;
  iceCandidates: client.IceCandidate[];
  dtlsParameters: client.DtlsParameters;
  sctpParameters: client.SctpParameters;
  /** STUN for `udp` and `tcp`; the TURN servers with fresh credentials for `relay`. */
  iceServers: IceServerInfo[];
  channels: CheckChannels;
}

/** Bytes counted over a window: the server's side of a bandwidth measurement. */
export interface CheckTransfer {
  bytes: number;
  ms: number;
}

export interface CheckResponses {
  ping: { serverTime: number };
  openTransport: CheckTransportInfo;
  connectTransport: Record<string, never>;
  closeTransport: Record<string, never>;
  upload: CheckTransfer;
  download: CheckTransfer;
}

export interface CheckWelcome {
  serverVersion: string;
  /** TURN_URLS are set: the relay test applies. */
  turn: boolean;
  /** The server wants a join token (AUTH_SECRET or a public key) for the media and bandwidth tests. */
  tokenRequired: boolean;
  /** The handshake's token was accepted (always true when none is required). */
  authorized: boolean;
  /** Why the token was refused, when it was. */
  tokenProblem?: string;
  limits: CheckLimits;
}

export interface CheckNotifications {
  /** Sent once on connect. */
  checkWelcome: CheckWelcome;
}

export type CheckClientEvents = {
  [K in CheckRequestName]: (payload: CheckRequestOf<K>, ack: (result: Result<CheckResponses[K]>) => void) => void;
};
export type CheckServerEvents = {
  [K in keyof CheckNotifications]: (payload: CheckNotifications[K]) => void;
};

/** What the browser sends in the Socket.IO handshake (`auth`). */
export const CheckHandshake = z.object({ token: z.string().max(4096).optional() });
