import { ConclaveError, type ProtocolError } from '../../../shared/errors.js';
import type { Actor, Knock, Reaction, RoomPolicy } from '../../../shared/moderation.js';
import type { MediaSource, ParticipantInfo } from '../../../shared/protocol.js';
import type { ConnectionQuality, LinkReport } from '../../../shared/quality.js';
import type { MediaAccessError } from './media.js';
import type { ConnectionState, RecordingChange, RecordingReady, RecordingStatus, RemoteParticipant, StreamProblem } from './types.js';

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
  /** Our own role or raised hand changed. */
  selfUpdated: [self: ParticipantInfo];
  /** The room's rules changed (lock, who may share the screen, chat, send files, join muted). */
  policyChanged: [policy: RoomPolicy];
  /** Who waits in the lobby changed (hosts and moderators only). */
  lobbyChanged: [knocks: Knock[]];
  /** While we wait in the lobby: whether anyone who can let us in is in the room. */
  lobbyStatus: [moderatorsPresent: boolean];
  /** A host or moderator turned our microphone or camera off, or stopped our screen share (already done here). */
  mutedBy: [source: MediaSource, by: Actor];
  /** A host or moderator asks us to turn our microphone on (only we can). */
  unmuteRequested: [by: Actor];
  /** A participant's connection quality (ours too) as the server sees it. */
  connectionQuality: [peerId: string, quality: ConnectionQuality];
  /** Our own link's details changed (what the quality indicator explains). */
  linkReport: [report: LinkReport];
  /** Someone (perhaps we) reacted; it floats over their tile for a few seconds. */
  reaction: [peerId: string, reaction: Reaction];
  /**
   * A recording or live stream started or ended (`change` says which, and why it ended), or, with
   * `change` null, what already runs as we join (nothing runs any more after we left).
   */
  recordingStatus: [status: RecordingStatus, change: RecordingChange | null];
  /** Hosts and moderators: a recording of this room can be downloaded. */
  recordingReady: [recording: RecordingReady];
  /** Hosts and moderators: the live stream dropped and is being retried, or was given up. */
  streamProblem: [problem: StreamProblem];
};

/** How the client's parts raise the client's events (the emitter keeps `emit` to itself). */
export type Emit = <K extends keyof ConferenceEvents>(event: K, ...args: ConferenceEvents[K]) => void;

/** Reports a background failure as an `error` event. */
export type Report = (error: unknown) => void;

export function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ConclaveError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
