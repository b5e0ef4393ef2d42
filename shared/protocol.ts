// Over ~350 lines on purpose: the protocol is defined once, every request, answer and notification
// side by side, so a change to it is seen whole.
import { z } from 'zod';
import type { types as client } from 'mediasoup-client';
import { DataLabel, FileName, FileType, SctpStreamParametersSchema, type BoardStroke, type ChatMessage } from './data.js';
import type { ErrorCode, Result } from './errors.js';
import { DisplayName, RoomId } from './identity.js';
import type { ConnectionQuality, LinkReport } from './quality.js';
import type { SessionEvent } from './diagnostics.js';
import { ModerationRequests, type ModerationNotifications, type ModerationResponses, type RoomPolicy } from './moderation.js';
import { RecordingRequests, type RecordingNotifications, type RecordingResponses } from './recording.js';
import type { Role } from './roles.js';
import { EmptyRequest, Id } from './schemas.js';
import { DtlsParametersSchema, RtpCapabilitiesSchema, RtpParametersSchema } from './rtp.js';

/**
 * The Conclave signalling protocol, defined once. Requests are Socket.IO emits with an
 * acknowledgement carrying a Result; notifications are plain server emits. Server handlers and
 * client calls are both typed from the maps below, so a mismatch is a compile error.
 */

/**
 * 2: `join` asks for data channels with `dataChannels` (mediasoup 3.20+ has no SCTP capabilities).
 * 3: `roomLost` (rejoin by yourself) and `removed` (do not); join may fail with UNAVAILABLE.
 * 4: roles, the lobby (join may answer IN_LOBBY), moderation, hands and reactions (shared/moderation.ts).
 * 5: recording and live streaming (shared/recording.ts): start/stop requests, `recordingStatus`.
 * 6: clusters: join may answer REDIRECT with the public URL of the node the room lives on; `welcome`
 *    and `clusterNodes` list the live nodes' URLs. `join` may carry the client's DTLS parameters, and
 *    its transports then come `connected` (no connectTransport before the first media).
 */
export const PROTOCOL_VERSION = 6;

export const MediaSource = z.enum(['mic', 'camera', 'screen']);
export type MediaSource = z.infer<typeof MediaSource>;
/** Every source, in the order the UI lists them. */
export const MEDIA_SOURCES = MediaSource.options;
/** What each source carries: a microphone is audio, a camera or a shared screen is video. */
export const SOURCE_KIND = { mic: 'audio', camera: 'video', screen: 'video' } as const satisfies Record<MediaSource, 'audio' | 'video'>;
/** A source with its kind, as a produce request carries them. */
export type SourceTrack = { [S in MediaSource]: { source: S; kind: (typeof SOURCE_KIND)[S] } }[MediaSource];

export function sourceTrack(source: MediaSource): SourceTrack {
  switch (source) {
    case 'mic':
      return { source, kind: 'audio' };
    case 'camera':
    case 'screen':
      return { source, kind: 'video' };
  }
}

// ---- Requests (client → server) ----

export const JoinRequest = z.object({
  roomId: RoomId,
  displayName: DisplayName,
  /** The client's device capabilities, so consumers can be created right after the answer. */
  rtpCapabilities: RtpCapabilitiesSchema,
  /** Join token (JWT) when the server requires one (AUTH_SECRET). */
  token: z.string().max(4096).optional(),
  /** The client wants data channels (chat, files, whiteboard); a receive-only tool may not. */
  dataChannels: z.boolean().default(false),
  /** Whoever creates the room may ask that everyone after them waits in the lobby. */
  lobby: z.boolean().default(false),
  /** The `moveTicket` of a `serverShutdown`: this join continues a place on a node that stopped. */
  move: z.string().max(2048).optional(),
  /**
   * DTLS ahead: the browser's certificate, made before joining, so the server connects both
   * transports in the join and no `connectTransport` round trip stands before the first media.
   * The answer's transports then say `connected`. Browsers that cannot tell their certificate's
   * fingerprint (Firefox) leave it out and connect each transport on request.
   */
  dtlsParameters: z
    .object({
      // The browser is the DTLS client on both transports (mediasoup-client's default role).
      role: z.literal('client'),
      fingerprints: z
        .array(
          z.object({
            algorithm: DtlsParametersSchema.shape.fingerprints.element.shape.algorithm,
            // Hex bytes joined by colons: a value mediasoup could only fail on at the handshake is refused now.
            value: z.string().regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){19,63}$/, 'a fingerprint is 20 to 64 hex bytes joined by colons'),
          }),
        )
        .min(1)
        .max(8),
    })
    .optional(),
});
export type JoinRequest = z.infer<typeof JoinRequest>;

export { EmptyRequest };

export const ConnectTransportRequest = z.object({
  transportId: Id,
  dtlsParameters: DtlsParametersSchema,
});

/** A track of one source, whose kind is the source's (SOURCE_KIND): a mismatch neither compiles nor parses. */
function produceOf<S extends MediaSource>(source: S) {
  const kind = SOURCE_KIND[source];
  return z.object({
    transportId: Id,
    source: z.literal(source),
    kind: z.literal(kind, { error: `A ${source} track must be ${kind}` }),
    rtpParameters: RtpParametersSchema,
    paused: z.boolean().default(false),
  });
}
export const ProduceRequest = z.discriminatedUnion('source', [produceOf('mic'), produceOf('camera'), produceOf('screen')]);
export type ProduceRequest = z.infer<typeof ProduceRequest>;

export const ProducerRequest = z.object({ producerId: Id });

export const SetProducerPausedRequest = z.object({ producerId: Id, paused: z.boolean() });

export const ConsumerRequest = z.object({ consumerId: Id });

export const TransportRequest = z.object({ transportId: Id });

/**
 * What the client wants of one consumer, from how its tile is shown: `paused` stops forwarding
 * while nobody can see it (resuming asks the sender for a keyframe); layers cap what a simulcast
 * or SVC video consumer receives (ignored for audio and single-layer video).
 */
export const SetConsumerPreferencesRequest = z.object({
  consumerId: Id,
  paused: z.boolean().optional(),
  spatialLayer: z.number().int().min(0).max(2).optional(),
  temporalLayer: z.number().int().min(0).max(2).optional(),
});
export type SetConsumerPreferencesRequest = z.infer<typeof SetConsumerPreferencesRequest>;

/** One of the client's data channels (see shared/data.ts), on its send transport. */
export const ProduceDataRequest = z.object({
  transportId: Id,
  label: DataLabel,
  sctpStreamParameters: SctpStreamParametersSchema,
  protocol: z.string().max(32).optional(),
});
export type ProduceDataRequest = z.infer<typeof ProduceDataRequest>;

/** Announces a file to the room; its chunks follow on the 'file' data channel. */
export const OfferFileRequest = z.object({
  name: FileName,
  type: FileType,
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

/** The sender stops a transfer for everyone; a receiver stops receiving it. */
export const FileRequest = z.object({
  fileId: z
    .number()
    .int()
    .min(1)
    .max(2 ** 32 - 1),
});

/** A client whose connection dropped takes its place back (within the grace period). */
export const ResumeRequest = z.object({ peerId: Id, resumeToken: z.string().min(1).max(128) });
/**
 * A closing tab's last word, sent with navigator.sendBeacon (which the browser delivers after the
 * page is gone, unlike a socket message in `pagehide`): POST this as JSON to LEAVE_BEACON_PATH.
 */
export const LeaveBeacon = ResumeRequest;
export type LeaveBeacon = z.infer<typeof LeaveBeacon>;
export const LEAVE_BEACON_PATH = '/api/leave';

/** Every request's payload schema; the server validates against it before a handler runs. */
export const Requests = {
  join: JoinRequest,
  leave: EmptyRequest,
  connectTransport: ConnectTransportRequest,
  produce: ProduceRequest,
  closeProducer: ProducerRequest,
  setProducerPaused: SetProducerPausedRequest,
  resumeConsumer: ConsumerRequest,
  setConsumerPreferences: SetConsumerPreferencesRequest,
  restartIce: TransportRequest,
  resume: ResumeRequest,
  produceData: ProduceDataRequest,
  dataSync: EmptyRequest,
  offerFile: OfferFileRequest,
  cancelFile: FileRequest,
  ...ModerationRequests,
  ...RecordingRequests,
} as const;
export type RequestName = keyof typeof Requests;
export type RequestOf<K extends RequestName> = z.input<(typeof Requests)[K]>;
export type ParsedRequestOf<K extends RequestName> = z.output<(typeof Requests)[K]>;

// ---- Shapes the server sends ----

export interface ParticipantInfo {
  id: string;
  displayName: string;
  joinedAt: number;
  /** Their connection dropped; they keep their place for the grace period. */
  reconnecting: boolean;
  role: Role;
  /** When they raised their hand (the queue's order), or null. */
  handRaisedAt: number | null;
}

export interface TransportInfo {
  id: string;
  iceParameters: client.IceParameters;
  iceCandidates: client.IceCandidate[];
  dtlsParameters: client.DtlsParameters;
  /** Present when the transport carries data channels. */
  sctpParameters?: client.SctpParameters;
  /** Connected in the join with the DTLS parameters it carried (DTLS ahead): no `connectTransport`. */
  connected?: true;
}

export interface IceServerInfo {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface JoinResponse {
  roomId: string;
  self: ParticipantInfo;
  sendTransport: TransportInfo;
  recvTransport: TransportInfo;
  iceServers: IceServerInfo[];
  /** Everyone already in the room; their media follows as newConsumer notifications. */
  participants: ParticipantInfo[];
  /** Present with `resume` after a dropped connection to keep this place. */
  resumeToken: string;
  /** How long the server keeps the place of a dropped connection. */
  reconnectGraceMs: number;
  /** The room's rules now; `policy` notifications follow when they change. */
  policy: RoomPolicy;
}

export interface ConsumerInfo {
  id: string;
  producerId: string;
  peerId: string;
  kind: client.MediaKind;
  source: MediaSource;
  rtpParameters: client.RtpParameters;
  producerPaused: boolean;
}

/** A data channel from the room to this participant. */
export interface DataConsumerInfo {
  id: string;
  dataProducerId: string;
  /** The receive transport it belongs to; an announcement for an older transport is stale. */
  transportId: string;
  label: DataLabel;
  sctpStreamParameters: client.SctpStreamParameters;
  protocol: string;
}

/**
 * What a participant needs to catch up with the room's data: the chat history and the
 * whiteboard as of `seq`. Live events with a higher seq follow on the data channels.
 */
export interface DataSyncResponse {
  seq: number;
  chat: ChatMessage[];
  board: BoardStroke[];
  maxFileBytes: number;
}

export interface Responses extends ModerationResponses, RecordingResponses {
  join: JoinResponse;
  leave: Record<string, never>;
  connectTransport: Record<string, never>;
  produce: { producerId: string };
  closeProducer: Record<string, never>;
  setProducerPaused: Record<string, never>;
  resumeConsumer: Record<string, never>;
  setConsumerPreferences: Record<string, never>;
  restartIce: { iceParameters: client.IceParameters };
  resume: Record<string, never>;
  produceData: { dataProducerId: string };
  dataSync: DataSyncResponse;
  /** Chunks of at most `chunkBytes`, with at most `windowBytes` not yet acknowledged. */
  offerFile: { fileId: number; chunkBytes: number; windowBytes: number };
  cancelFile: Record<string, never>;
}

// ---- Notifications (server → client) ----

export const RemovalReason = z.enum(['mediaCrashes', 'removed', 'banned', 'ended']);
export type RemovalReason = z.infer<typeof RemovalReason>;

export interface Notifications extends ModerationNotifications, RecordingNotifications {
  /** Sent once on connect: what a client needs to load its device before joining. */
  welcome: {
    protocolVersion: number;
    serverVersion: string;
    routerRtpCapabilities: client.RtpCapabilities;
    /** In a cluster: the public URLs of its live nodes, this one included, to turn to when this one is gone. */
    nodes?: string[];
  };
  /** The cluster's live nodes changed (public URLs, this node included). */
  clusterNodes: { urls: string[] };
  participantJoined: ParticipantInfo;
  /** Their role or hand changed (also sent to them). */
  participantUpdated: ParticipantInfo;
  participantLeft: { peerId: string };
  newConsumer: ConsumerInfo;
  consumerClosed: { consumerId: string };
  /** The producer behind this consumer was paused (muted / camera off) or resumed. */
  consumerPaused: { consumerId: string };
  consumerResumed: { consumerId: string };
  /**
   * The layers the server now forwards on this consumer (it follows the preferred layers and the
   * bandwidth estimate); null while nothing is forwarded (paused, or no layer fits).
   */
  consumerLayers: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null };
  activeSpeaker: { peerId: string | null };
  /** A participant's connection dropped (reconnecting) or came back. */
  participantConnection: { peerId: string; reconnecting: boolean };
  /**
   * Participants' link quality as the server sees it (shared/quality.ts): to everyone when a level
   * changes, and every known level to a newcomer.
   */
  connectionQuality: { qualities: { peerId: string; quality: ConnectionQuality }[] };
  /** This participant's own link, when it changes: what the quality indicator's tooltip explains. */
  linkReport: LinkReport;
  /** Something happened to this participant's session (shared/diagnostics.ts): the connection panel's timeline. */
  sessionEvent: SessionEvent;
  /**
   * The room moved to a healthy worker (its worker died): previous transports, producers and
   * consumers are gone; connect these and publish again. Participants and ids stay.
   */
  mediaReset: { sendTransport: TransportInfo; recvTransport: TransportInfo };
  /**
   * The server is stopping; the client may try again later. In a cluster whose rooms span nodes,
   * `moveTicket` lets this participant take the same place (id, role) on another node: sent with
   * the join there (`move`), the others never see them leave.
   */
  serverShutdown: { message: string; moveTicket?: string };
  /**
   * The room could not be kept (every media worker failed and none came back in time): this
   * participant is out of it, its connection back in the lobby. Join again, retrying while the
   * answer is UNAVAILABLE; a fresh room starts on the next worker.
   */
  roomLost: { message: string };
  /**
   * This participant was taken out of the room and should not rejoin by itself. `mediaCrashes`:
   * the media workers kept dying while its media was on them; `removed` / `banned`: by a host or
   * moderator (banned: not again until the room closes); `ended`: the meeting was ended.
   */
  removed: { reason: RemovalReason; message: string };
  newDataConsumer: DataConsumerInfo;
  dataConsumerClosed: { dataConsumerId: string };
  /**
   * Something this participant sent on a data channel was refused (invalid, too fast, too large)
   * and not forwarded; with `fileId`, that transfer was stopped.
   */
  dataRejected: { label: DataLabel; code: ErrorCode; message: string; fileId?: number; nonce?: string };
}
export type NotificationName = keyof Notifications;

// ---- Socket.IO typings derived from the maps ----

export type Ack<T> = (result: Result<T>) => void;

export type ClientToServerEvents = {
  [K in RequestName]: (payload: RequestOf<K>, ack: Ack<Responses[K]>) => void;
};

export type ServerToClientEvents = {
  [K in NotificationName]: (payload: Notifications[K]) => void;
};

/** Compile-time guard: every request has a response type and vice versa. */
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : never;
export const requestsAndResponsesMatch: SameKeys<typeof Requests, Responses> = true;
