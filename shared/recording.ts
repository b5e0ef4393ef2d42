import { z } from 'zod';
import type { types as client } from 'mediasoup-client';
import type { Result } from './errors.js';
import type { ConsumerInfo, ParticipantInfo, TransportInfo } from './protocol.js';
import { DtlsParametersSchema, RtpCapabilitiesSchema } from './rtp.js';
import { EmptyRequest, Id } from './schemas.js';

/**
 * Recording and live streaming (docs/recording.md). A room's recording or stream is drawn by a
 * compositor: a headless Chromium page (client/recorder.html) the server starts for it, which
 * receives everyone's media like a participant no one sees, draws the meeting on a canvas, mixes
 * the audio and hands MediaRecorder's output back to the server, which writes the file or feeds
 * the RTMP stream (server/src/recording). The compositor speaks this protocol on its own Socket.IO
 * namespace, apart from the room protocol.
 */

// ---- What people in the call and the operator see ----

/** How the meeting is drawn: everyone in equal tiles, or who speaks large with the others in a strip. */
export const RecordingLayout = z.enum(['grid', 'speaker']);
export type RecordingLayout = z.infer<typeof RecordingLayout>;

/** What a compositor output is for. */
export type EgressKind = 'recording' | 'stream';

/**
 * An RTMP(S) ingest URL as YouTube, Twitch or Bilibili give it: `rtmp://host[:port]/app/key`.
 * The key is a secret: the server keeps the URL only in memory and shows it redacted (`redactStreamUrl`).
 */
export const StreamUrl = z
  .string()
  .trim()
  .max(2048, 'The stream URL is at most 2048 characters')
  .refine((text) => /^rtmps?:\/\/[^\s/]+\/\S+$/i.test(text) && URL.canParse(text), 'The stream URL must look like rtmp://host/app/key or rtmps://…');

/** The URL with its stream key (everything after the application name), query and credentials hidden. */
export function redactStreamUrl(text: string): string {
  if (!URL.canParse(text)) return 'rtmp://…';
  const url = new URL(text);
  const [app] = url.pathname.split('/').filter(Boolean);
  return `${url.protocol}//${url.host}/${app ?? ''}/…`;
}

/** Why a recording or stream ended. */
export const EgressEndReason = z.enum(['stopped', 'meetingEnded', 'timeLimit', 'failed', 'serverShutdown']);
export type EgressEndReason = z.infer<typeof EgressEndReason>;

/** What the call shows while a recording or stream runs (to everyone, and to each newcomer). */
export interface EgressActivity {
  since: number;
  layout: RecordingLayout;
  /** Who started it: a participant's name, or null for the operator (admin API). */
  startedBy: string | null;
}

export interface RecordingStatus {
  recording: EgressActivity | null;
  streaming: EgressActivity | null;
}

/** A finished (or running) recording as the admin API lists it. */
export interface RecordingInfo {
  /** Also the file's name without its extension: `<room>-<yyyymmdd-hhmmss>-<6 hex>`. */
  id: string;
  room: string;
  file: string;
  layout: RecordingLayout;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string | null;
  bytes: number;
  durationSeconds: number | null;
  status: 'recording' | 'finished' | 'failed';
  endReason: EgressEndReason | null;
  mimeType: string;
}

// ---- Room protocol additions (participant → server; hosts and moderators only) ----

export const RecordingRequests = {
  startRecording: z.object({ layout: RecordingLayout.default('grid') }),
  stopRecording: EmptyRequest,
  startStream: z.object({ url: StreamUrl, layout: RecordingLayout.default('grid') }),
  stopStream: EmptyRequest,
} as const;

export interface RecordingResponses {
  startRecording: RecordingStatus;
  stopRecording: RecordingStatus;
  startStream: RecordingStatus;
  stopStream: RecordingStatus;
}

export const RECORDING_REQUESTS = [
  'startRecording',
  'stopRecording',
  'startStream',
  'stopStream',
] as const satisfies readonly (keyof typeof RecordingRequests)[];

export interface RecordingNotifications {
  /** A recording or stream started or ended (to everyone); also sent to each newcomer when one runs. */
  recordingStatus: RecordingStatus & {
    /** What changed, for the notice: absent in a newcomer's first status. */
    change?: { kind: EgressKind; started: boolean; reason?: EgressEndReason };
  };
  /** To hosts and moderators: a recording of this room is ready; the link works for a day without the admin key. */
  recordingReady: { id: string; file: string; bytes: number; durationSeconds: number | null; downloadUrl: string };
  /** To hosts and moderators: the stream failed and is being retried (`retrying`), or given up. */
  streamProblem: { message: string; retrying: boolean; attempt: number };
}

// ---- The compositor's own protocol (namespace RECORDER_NAMESPACE) ----

export const RECORDER_NAMESPACE = '/recorder';

/** The compositor page proves it is the one the server started: a one-time ticket in its URL fragment. */
export const RecorderHandshake = z.object({ ticket: z.string().min(16).max(128) });

/** What the compositor draws and records (the server decides; the page follows). */
export interface CompositorOutput {
  width: number;
  height: number;
  frameRate: number;
  videoBitsPerSecond: number;
  audioBitsPerSecond: number;
  /** MediaRecorder's timeslice: how often a chunk is handed over. */
  timesliceMs: number;
  /** Largest `chunk` payload; a larger blob is sent in several. */
  maxChunkBytes: number;
}

export interface RecorderWelcome {
  roomId: string;
  kind: EgressKind;
  layout: RecordingLayout;
  output: CompositorOutput;
  routerRtpCapabilities: client.RtpCapabilities;
}

export const RecorderRequests = {
  /** With the page's device capabilities: the receive transport and who is there; media follows as `newConsumer`. */
  attach: z.object({ rtpCapabilities: RtpCapabilitiesSchema }),
  connectTransport: z.object({ dtlsParameters: DtlsParametersSchema }),
  resumeConsumer: z.object({ consumerId: Id }),
  /** MediaRecorder started with this type: the server opens its writer. */
  outputStarted: z.object({ mimeType: z.string().min(1).max(120) }),
  /** A piece of the output, in order; answered once written, so the page never runs ahead of the disk. */
  chunk: z.object({ seq: z.number().int().min(0), data: z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'data must be binary') }),
  /** The page stopped its MediaRecorder after `finish` (or on its own, with `error`): every chunk was sent. */
  outputEnded: z.object({ error: z.string().max(500).optional() }),
} as const;
export type RecorderRequestName = keyof typeof RecorderRequests;
export type RecorderRequestOf<K extends RecorderRequestName> = z.input<(typeof RecorderRequests)[K]>;
export type ParsedRecorderRequestOf<K extends RecorderRequestName> = z.output<(typeof RecorderRequests)[K]>;

export interface RecorderResponses {
  attach: { transport: TransportInfo; participants: ParticipantInfo[]; activeSpeaker: string | null };
  connectTransport: Record<string, never>;
  resumeConsumer: Record<string, never>;
  outputStarted: Record<string, never>;
  chunk: Record<string, never>;
  outputEnded: Record<string, never>;
}

/** What the server tells the compositor: the room's changes, and when to stop. */
export interface RecorderNotifications {
  recorderWelcome: RecorderWelcome;
  participantJoined: ParticipantInfo;
  participantUpdated: ParticipantInfo;
  participantLeft: { peerId: string };
  newConsumer: ConsumerInfo;
  consumerClosed: { consumerId: string };
  consumerPaused: { consumerId: string };
  consumerResumed: { consumerId: string };
  activeSpeaker: { peerId: string | null };
  /** Stop MediaRecorder, send what is left, then `outputEnded`. */
  finish: Record<string, never>;
  /** Start a fresh MediaRecorder (a new header): the stream's writer was restarted after a dropped connection. */
  restartOutput: Record<string, never>;
}

export type RecorderClientEvents = {
  [K in RecorderRequestName]: (payload: RecorderRequestOf<K>, ack: (result: Result<RecorderResponses[K]>) => void) => void;
};
export type RecorderServerEvents = {
  [K in keyof RecorderNotifications]: (payload: RecorderNotifications[K]) => void;
};
