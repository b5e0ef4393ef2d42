import type { Actor, Reaction, RoomPolicy } from '../../shared/moderation.js';
import type { MediaSource, RequestOf } from '../../shared/protocol.js';
import type { RecordingLayout, RecordingStatus } from '../../shared/recording.js';
import type { ConferenceClient } from './conference/ConferenceClient.js';
import type { RecordingChange, RecordingReady, StreamProblem } from './conference/types.js';

/** What is kept of what the meeting told this page (latest last). */
const KEPT = 50;

export interface ReceivedReaction {
  peerId: string;
  reaction: Reaction;
  at: number;
}

/** A `recordingStatus` as this page received it (`change` null: what ran as we joined, or nothing after we left). */
export interface RecordingNotice {
  status: RecordingStatus;
  change: RecordingChange | null;
  at: number;
}

export type ModerationNotice = { type: 'mutedBy'; source: MediaSource; by: Actor; at: number } | { type: 'unmuteRequested'; by: Actor; at: number };

/**
 * The meeting part of `window.conclave` (documented in docs/moderation.md), recording and live
 * streaming included (docs/recording.md). Each action resolves once the server did it, or rejects
 * with its error (`code`: FORBIDDEN when our role may not).
 */
export interface MeetingAutomation {
  muteParticipant(peerId: string, source: MediaSource): Promise<void>;
  /** Resolves with how many microphones were on. */
  muteAll(): Promise<number>;
  askToUnmute(peerId: string): Promise<void>;
  removeParticipant(peerId: string, ban?: boolean): Promise<void>;
  setRole(peerId: string, role: 'moderator' | 'participant'): Promise<void>;
  setPolicy(patch: RequestOf<'setPolicy'>): Promise<RoomPolicy>;
  /** Without ids, everyone waiting; resolves with how many were answered. */
  answerKnocks(admit: boolean, knockIds?: string[]): Promise<number>;
  endMeeting(): Promise<void>;
  raiseHand(): Promise<void>;
  /** Our own hand, or (hosts and moderators) someone else's. */
  lowerHand(peerId?: string): Promise<void>;
  lowerAllHands(): Promise<void>;
  react(reaction: Reaction): Promise<void>;
  /** Reactions seen in this room, ours included. */
  reactions(): ReceivedReaction[];
  /** What hosts and moderators did to us: muted us, asked us to unmute. */
  moderationNotices(): ModerationNotice[];
  /** Why the call ended when we were removed or not let in, else null. */
  farewell(): { reason: string; message: string } | null;
  /** Hosts and moderators; each resolves with what runs once the server did it (also in `state().recording`). */
  startRecording(layout?: RecordingLayout): Promise<RecordingStatus>;
  stopRecording(): Promise<RecordingStatus>;
  /** `url`: rtmp(s)://host/app/key (shared/recording.ts `StreamUrl`). */
  startStream(url: string, layout?: RecordingLayout): Promise<RecordingStatus>;
  stopStream(): Promise<RecordingStatus>;
  /** Every recording status this page was told, in order. */
  recordingNotices(): RecordingNotice[];
  /** Hosts and moderators: the recordings announced ready (`downloadUrl` relative to the server). */
  recordingsReady(): RecordingReady[];
  /** Hosts and moderators: what went wrong with the live stream. */
  streamProblems(): StreamProblem[];
}

function keep<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > KEPT) list.shift();
}

export function meetingAutomation(client: ConferenceClient): MeetingAutomation {
  const { meeting } = client;
  const reactions: ReceivedReaction[] = [];
  const notices: ModerationNotice[] = [];
  const recordingNotices: RecordingNotice[] = [];
  const ready: RecordingReady[] = [];
  const streamProblems: StreamProblem[] = [];
  client.on('reaction', (peerId, reaction) => keep(reactions, { peerId, reaction, at: Date.now() }));
  client.on('mutedBy', (source, by) => keep(notices, { type: 'mutedBy', source, by, at: Date.now() }));
  client.on('unmuteRequested', (by) => keep(notices, { type: 'unmuteRequested', by, at: Date.now() }));
  client.on('recordingStatus', (status, change) => keep(recordingNotices, { status, change, at: Date.now() }));
  client.on('recordingReady', (recording) => keep(ready, recording));
  client.on('streamProblem', (problem) => keep(streamProblems, problem));
  return {
    muteParticipant: (peerId, source) => meeting.muteParticipant(peerId, source),
    muteAll: () => meeting.muteAll(),
    askToUnmute: (peerId) => meeting.askToUnmute(peerId),
    removeParticipant: (peerId, ban = false) => meeting.removeParticipant(peerId, ban),
    setRole: (peerId, role) => meeting.setRole(peerId, role),
    setPolicy: (patch) => meeting.setPolicy(patch),
    answerKnocks: (admit, knockIds) => meeting.answerKnocks(admit, knockIds),
    endMeeting: () => meeting.endMeeting(),
    raiseHand: () => meeting.raiseHand(),
    lowerHand: (peerId) => meeting.lowerHand(peerId),
    lowerAllHands: () => meeting.lowerAllHands(),
    react: (reaction) => meeting.react(reaction),
    reactions: () => reactions.map((reaction) => ({ ...reaction })),
    moderationNotices: () => notices.map((notice) => ({ ...notice })),
    farewell: () => (client.farewell ? { ...client.farewell } : null),
    startRecording: (layout) => meeting.recording.startRecording(layout),
    stopRecording: () => meeting.recording.stopRecording(),
    startStream: (url, layout) => meeting.recording.startStream(url, layout),
    stopStream: () => meeting.recording.stopStream(),
    recordingNotices: () => structuredClone(recordingNotices),
    recordingsReady: () => ready.map((recording) => ({ ...recording })),
    streamProblems: () => streamProblems.map((problem) => ({ ...problem })),
  };
}
