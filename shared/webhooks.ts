import type { Role } from './roles.js';

/**
 * The events a server operator's webhook receiver gets: one JSON body per POST, told apart by
 * `event`. docs/webhooks.md shows each body, the headers and how to check the signature.
 *
 * Plain types on purpose: a receiver may copy this file without zod. A new event is one more member
 * of `WebhookEvent` (and one more case where the server copies its fields, server/src/webhooks).
 * Nothing here carries a token or a secret, and nothing may: receivers log and store these bodies.
 */

/** What every event carries, filled in by the server when it emits one. */
export interface WebhookEnvelope {
  /** A random UUID, the same on every retry of this event: receivers drop one they have seen. */
  id: string;
  /** When the event happened, in milliseconds since the Unix epoch. */
  createdAt: number;
  /** Which Conclave instance sent it (its configured name or host name). */
  server: string;
}

/** A participant as a receiver sees them: never their connection, token or address. */
export interface WebhookParticipant {
  id: string;
  name: string;
  role: Role;
}

/** Who removed someone: a participant of the room, the server's operator, or nobody said (null). */
export type WebhookActor = { id: string; name: string } | { admin: true } | null;

/** Every event belongs to a room; events of one room reach a receiver in the order they happened. */
interface RoomEvent extends WebhookEnvelope {
  room: string;
}

/** The first participant joined and the room opened. */
export interface RoomStartedEvent extends RoomEvent {
  event: 'room_started';
}

/** The room closed: the last participant left, or it was ended. */
export interface RoomFinishedEvent extends RoomEvent {
  event: 'room_finished';
}

export interface ParticipantJoinedEvent extends RoomEvent {
  event: 'participant_joined';
  participant: WebhookParticipant;
}

/** They left by themselves (left, closed the tab, or did not come back within the reconnect grace). */
export interface ParticipantLeftEvent extends RoomEvent {
  event: 'participant_left';
  participant: WebhookParticipant;
}

/** A host, a moderator or the operator took them out; with `ban`, they cannot come back until the room closes. */
export interface ParticipantRemovedEvent extends RoomEvent {
  event: 'participant_removed';
  participant: WebhookParticipant;
  by: WebhookActor;
  reason: string;
  ban: boolean;
}

/** A recording as a receiver sees it; `file` is the name in RECORDINGS_DIR (download it with the admin API). */
export interface WebhookRecording {
  id: string;
  file: string;
  layout: 'grid' | 'speaker';
}

/** Why a recording or stream ended: asked to, the meeting ended or emptied, MAX_RECORDING_MINUTES, a failure, the server stopping. */
export type WebhookEndReason = 'stopped' | 'meetingEnded' | 'timeLimit' | 'failed' | 'serverShutdown';

export interface RecordingStartedEvent extends RoomEvent {
  event: 'recording_started';
  recording: WebhookRecording;
  by: WebhookActor;
}

/** The file is complete (also after a failure: what was recorded until then). */
export interface RecordingFinishedEvent extends RoomEvent {
  event: 'recording_finished';
  recording: WebhookRecording & { bytes: number; durationSeconds: number | null };
  reason: WebhookEndReason;
  error?: string;
}

/** A live stream; `url` never carries the stream key (`rtmp://host/app/…`). */
export interface WebhookStream {
  url: string;
  layout: 'grid' | 'speaker';
}

export interface StreamStartedEvent extends RoomEvent {
  event: 'stream_started';
  stream: WebhookStream;
  by: WebhookActor;
}

/** The RTMP connection dropped or could not be made; with `retrying`, the server tries again. */
export interface StreamFailedEvent extends RoomEvent {
  event: 'stream_failed';
  stream: WebhookStream;
  error: string;
  attempt: number;
  retrying: boolean;
}

export interface StreamFinishedEvent extends RoomEvent {
  event: 'stream_finished';
  stream: WebhookStream;
  reason: WebhookEndReason;
  error?: string;
}

export type WebhookEvent =
  | RoomStartedEvent
  | RoomFinishedEvent
  | ParticipantJoinedEvent
  | ParticipantLeftEvent
  | ParticipantRemovedEvent
  | RecordingStartedEvent
  | RecordingFinishedEvent
  | StreamStartedEvent
  | StreamFailedEvent
  | StreamFinishedEvent;

export type WebhookEventName = WebhookEvent['event'];

/** Omit over each member of a union, so the result stays a discriminated union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * An event as the server emits it: without the envelope (`id`, `createdAt`, `server`), which
 * `Webhooks.emit` fills in. `WebhookPayload<'participant_joined'>` is one event's.
 */
export type WebhookPayload<N extends WebhookEventName = WebhookEventName> = DistributiveOmit<Extract<WebhookEvent, { event: N }>, keyof WebhookEnvelope>;
