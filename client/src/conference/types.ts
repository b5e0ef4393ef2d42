import type { types } from 'mediasoup-client';
import type { ErrorCode } from '../../../shared/errors.js';
import type { Knock, RoomPolicy } from '../../../shared/moderation.js';
import type { MediaSource, Notifications, ParticipantInfo, RemovalReason } from '../../../shared/protocol.js';
import type { ConnectionQuality, LinkReport } from '../../../shared/quality.js';
import type { RecordingStatus } from '../../../shared/recording.js';
import type { Role } from '../../../shared/roles.js';
import type { SendLimitation } from './LinkQuality.js';
import type { QualityMode } from './qualityMode.js';
import type { ReceptionState } from './reception.js';

export type { MediaSource, RecordingStatus };

/** What a `recordingStatus` notification says changed: a recording or stream started, or ended and why. */
export type RecordingChange = NonNullable<Notifications['recordingStatus']['change']>;
/** A finished recording, for hosts and moderators; `downloadUrl` is relative to the server. */
export type RecordingReady = Notifications['recordingReady'];
export type StreamProblem = Notifications['streamProblem'];

/** A source backed by a capture device the user can choose (the screen is picked per share). */
export type DeviceSource = Exclude<MediaSource, 'screen'>;

/** Where the client is in its life cycle; 'waiting': in a locked room's lobby until someone lets us in. */
export type ConnectionState = 'idle' | 'connecting' | 'waiting' | 'joined' | 'reconnecting' | 'left';

/** Why the call ended without our leaving: taken out of the room, or not let in from its lobby. */
export interface Farewell {
  reason: RemovalReason | NonNullable<Notifications['knockAnswered']['reason']>;
  message: string;
}

/**
 * Why we are reconnecting, or why the call ended on a failure, as data for views to word in the
 * reader's language (the `connectionState` event's reason says it in English, for logs).
 */
export type CallProblem =
  /** Signalling dropped; `detail` is Socket.IO's reason ('transport close', …). */
  | { kind: 'connectionLost'; detail: string }
  | { kind: 'serverRestarting' }
  /** Our node is stopping: we continue in the same place on another node of the cluster. */
  | { kind: 'movingNode' }
  /** The server could not keep the room on any media worker: we join again. */
  | { kind: 'roomLost' }
  | { kind: 'protocol'; pageVersion: number; serverVersion: number }
  | { kind: 'unreachable' }
  | { kind: 'noAnswer'; seconds: number }
  /** The server refused with one of its error codes. */
  | { kind: 'refused'; code: ErrorCode }
  /** Anything else (the browser's own errors), in its own words. */
  | { kind: 'unexpected'; detail: string };

/** A track received from another participant. */
export interface RemoteTrack {
  consumerId: string;
  source: MediaSource;
  kind: types.MediaKind;
  track: MediaStreamTrack;
  /** The sender muted it (mic) or turned it off (camera); nothing is forwarded meanwhile. */
  paused: boolean;
}

export interface RemoteParticipant extends ParticipantInfo {
  tracks: Partial<Record<MediaSource, RemoteTrack>>;
}

/** One thing the local participant can publish. */
export interface LocalSource {
  track: MediaStreamTrack | null;
  producer: types.Producer | null;
  /** What the user asked for: on or off. */
  enabled: boolean;
}

export interface ConsumerStats extends ReceptionState {
  consumerId: string;
  peerId: string;
  source: MediaSource;
  kind: types.MediaKind;
  paused: boolean;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  jitter: number;
  /** Video only. */
  framesDecoded?: number;
  framesPerSecond?: number;
  frameWidth?: number;
  frameHeight?: number;
  /** Audio only: energy rises while sound arrives. */
  totalAudioEnergy?: number;
  totalSamplesReceived?: number;
}

export interface ProducerStats {
  producerId: string;
  source: MediaSource;
  kind: types.MediaKind;
  paused: boolean;
  bytesSent: number;
  packetsSent: number;
  framesEncoded?: number;
  framesPerSecond?: number;
  frameWidth?: number;
  frameHeight?: number;
  /** Why the browser sends less than asked (video). */
  limitation?: SendLimitation;
}

/** Which path media takes on one transport: the ICE candidate pair the browser selected. */
export interface TransportStats {
  direction: 'send' | 'recv';
  /** mediasoup-client's connection state: 'new', 'connecting', 'connected', 'failed', … */
  state: string;
  /** 'host', 'srflx', 'prflx' or 'relay' (through TURN); null until a pair is selected. */
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  /** The local candidate's protocol, 'udp' or 'tcp' (ICE-TCP); for a relay candidate, the relayed leg. */
  protocol: string | null;
  /** For a relay candidate, how the browser reaches the TURN server: 'udp', 'tcp' or 'tls'. */
  relayProtocol: string | null;
}

export interface ConferenceStats {
  timestamp: number;
  consumers: ConsumerStats[];
  producers: ProducerStats[];
  transports: TransportStats[];
}

/** Someone with their hand up, in the order hands went up. */
export interface RaisedHand {
  peerId: string;
  displayName: string;
  raisedAt: number;
  /** 1 for the first hand up. */
  position: number;
}

/** A plain, serialisable picture of the conference (for automation and debugging). */
export interface ConferenceSnapshot {
  connection: ConnectionState;
  room: string;
  self: ParticipantInfo | null;
  participants: {
    id: string;
    displayName: string;
    role: Role;
    handRaisedAt: number | null;
    reconnecting: boolean;
    tracks: { source: MediaSource; kind: string; paused: boolean }[];
  }[];
  producers: { id: string; source: MediaSource; kind: string; paused: boolean }[];
  consumers: { id: string; peerId: string; source: MediaSource; kind: string; paused: boolean }[];
  activeSpeaker: string | null;
  /** Our role (null before joining). */
  role: Role | null;
  /** Our place in the queue of raised hands (1 first), or null. */
  hand: number | null;
  hands: RaisedHand[];
  /** The room's rules (null before joining). */
  policy: RoomPolicy | null;
  /** Who waits in the lobby (hosts and moderators only; empty for others). */
  knocks: Knock[];
  /** While we wait in a lobby: whether anyone who can let us in is in the room. */
  waiting: { moderatorsPresent: boolean } | null;
  /** Our quality setting. */
  quality: QualityMode;
  /** Connection quality by participant id (ours too), as the server sees it. */
  qualities: Record<string, ConnectionQuality>;
  /** Our own link as the server last reported it. */
  link: LinkReport | null;
  /** The room's recording and live stream: what runs now (for everyone). */
  recording: RecordingStatus;
}
