import { ConclaveError, type ProtocolError } from '../../../shared/errors.js';
import type { MediaSource } from '../../../shared/protocol.js';
import type { MediaAccessError } from './media.js';
import type { ConnectionState, RemoteParticipant } from './types.js';

/** What a ConferenceClient tells its views. */
export type ConferenceEvents = {
  connectionState: [state: ConnectionState, reason?: string];
  participantJoined: [participant: RemoteParticipant];
  participantLeft: [participant: RemoteParticipant];
  /** Tracks were added or removed, or a sender muted/unmuted one. */
  participantUpdated: [participant: RemoteParticipant];
  localMediaChanged: [source: MediaSource];
  activeSpeaker: [peerId: string | null];
  /** Camera, microphone or screen could not be used; the call goes on without it. */
  mediaError: [error: MediaAccessError];
  /** A request failed in the background (e.g. a consumer could not resume). */
  error: [error: ProtocolError];
};

/** How the client's parts raise the client's events (the emitter keeps `emit` to itself). */
export type Emit = <K extends keyof ConferenceEvents>(event: K, ...args: ConferenceEvents[K]) => void;

/** Reports a background failure as an `error` event. */
export type Report = (error: unknown) => void;

export function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ConclaveError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
