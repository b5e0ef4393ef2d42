import type { ConnectionQuality } from './quality.js';
import type { Role } from './roles.js';

/**
 * What happened to one participant's session, as the server saw it: kept per participant (bounded,
 * and for a while after they leave, so an operator can debug a call that already failed), sent to
 * the participant as it happens (`sessionEvent`, for the connection panel) and served by the admin
 * API (`GET /api/v1/rooms/:room/participants/:id/events`). Timestamps are the server's clock (ms).
 */

/** Which of the participant's two WebRTC transports. */
export type TransportDirection = 'send' | 'recv';

/** Why the layers forwarded to this participant changed. */
export type LayerSwitchReason =
  /** The downlink estimate: the policy stepped this camera down or back up (docs/quality.md). */
  | 'link'
  /** The participant's own wish changed (tile size, quality setting, paused off-screen). */
  | 'wish'
  /** mediasoup's own allocation moved within what was allowed (bandwidth estimate, sender's layers). */
  | 'network';

/** Why a participant's session ended (the `left` event). */
export type LeaveReason =
  /** They asked to leave (the Leave button). */
  | 'left'
  /** Their tab closed (the leave beacon). */
  | 'beacon'
  /** Their client closed the signalling connection without leaving, or it dropped with no grace period. */
  | 'disconnected'
  /** Their connection dropped and did not come back within RECONNECT_GRACE_SECONDS. */
  | 'reconnectTimeout'
  /** It came back, but too much had happened meanwhile to catch up: their client joins afresh. */
  | 'resumeFailed'
  /** Taken out by a host, moderator or the admin API (`banned`: and barred), or the meeting ended. */
  | 'removed'
  | 'banned'
  | 'ended'
  /** Their media was on too many worker deaths (docs/faults.md). */
  | 'mediaCrashes'
  /** No media worker could take the room in time. */
  | 'roomLost'
  | 'serverShutdown'
  /** The room closed under them for any other reason. */
  | 'roomClosed';

/** An event as its source records it; the log stamps the time (`SessionEvent`). */
export type SessionEventBody =
  | { kind: 'joined'; roomId: string; role: Role }
  | { kind: 'left'; reason: LeaveReason }
  /** Signalling (the Socket.IO connection): dropped, then resumed within the grace period or not. */
  | { kind: 'signalling'; state: 'connected' | 'dropped' | 'resumed' }
  | { kind: 'ice'; transport: TransportDirection; state: string }
  | { kind: 'dtls'; transport: TransportDirection; state: string }
  /** The address and protocol media now flows over (the server's selected ICE tuple). */
  | { kind: 'route'; transport: TransportDirection; protocol: 'udp' | 'tcp'; remote: string }
  | { kind: 'iceRestart'; transport: TransportDirection }
  /** The room moved to another media worker (the previous one died): transports were replaced. */
  | { kind: 'workerMoved'; fromWorker: number; toWorker: number }
  | {
      kind: 'layers';
      /** Whose camera or screen. */
      peerId: string;
      source: string;
      spatialLayer: number | null;
      temporalLayer: number | null;
      reason: LayerSwitchReason;
    }
  /** The participant's connection quality as rated by the server (shared/quality.ts). */
  | { kind: 'quality'; quality: ConnectionQuality };

export type SessionEvent = { at: number } & SessionEventBody;

export type SessionEventKind = SessionEvent['kind'];

/** How many events a participant's log keeps (oldest dropped first). */
export const SESSION_EVENTS_MAX = 500;
/** How long a left participant's log stays readable through the admin API. */
export const SESSION_EVENTS_RETAIN_MS = 30 * 60_000;
