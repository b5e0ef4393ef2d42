import { z } from 'zod';
import { Role } from './roles.js';
import { EmptyRequest, Id } from './schemas.js';

/**
 * Running a meeting: roles, the lobby, moderation, hands and reactions. The requests join the
 * protocol's request map (shared/protocol.ts); hosts and moderators may send the moderation ones,
 * and the server checks the role on every one of them.
 */

/** Who may do something in a room: everyone, or only its hosts and moderators. */
export const Permission = z.enum(['everyone', 'moderators']);
export type Permission = z.infer<typeof Permission>;

/** A room's rules, which hosts and moderators change. */
export interface RoomPolicy {
  /** Newcomers wait in the lobby until a host or moderator admits them. */
  locked: boolean;
  screenShare: Permission;
  chat: Permission;
  files: Permission;
  /** Newcomers arrive with their microphone off (they may turn it on themselves). */
  joinMuted: boolean;
}

export const DEFAULT_POLICY: RoomPolicy = { locked: false, screenShare: 'everyone', chat: 'everyone', files: 'everyone', joinMuted: false };

/** Someone waiting in the lobby, as hosts and moderators see them. */
export interface Knock {
  id: string;
  displayName: string;
  since: number;
}

/** Reactions float over the sender's tile for a few seconds; only these are carried. */
export const REACTIONS = ['👍', '👏', '😂', '😮', '❤️', '🎉', '🤔', '👋'] as const;
export const Reaction = z.enum(REACTIONS);
export type Reaction = z.infer<typeof Reaction>;

/** Who did something to someone: a participant of the room, or the server's operator (admin API). */
export type Actor = { peerId: string; displayName: string } | { admin: true };

// ---- Requests ----

export const ModeratedSource = z.enum(['mic', 'camera', 'screen']);

export const ModerationRequests = {
  /** Turns someone's microphone or camera off, or stops their screen share. Never turns anything on. */
  muteParticipant: z.object({ peerId: Id, source: ModeratedSource }),
  /** Every microphone but the sender's own. */
  muteAll: EmptyRequest,
  /** Shows "asked to unmute" to someone muted: only they can turn their microphone on. */
  askToUnmute: z.object({ peerId: Id }),
  /** With `ban`, the same name (or token subject) cannot come back until the room closes. */
  removeParticipant: z.object({ peerId: Id, ban: z.boolean().default(false) }),
  /** Hosts only: make someone moderator, or take it back. */
  setRole: z.object({ peerId: Id, role: z.enum(['moderator', 'participant']) }),
  /** Lock or unlock, and who may share the screen, chat and send files; absent fields stay. */
  setPolicy: z.object({
    locked: z.boolean().optional(),
    screenShare: Permission.optional(),
    chat: Permission.optional(),
    files: Permission.optional(),
    joinMuted: z.boolean().optional(),
  }),
  /** Lets people in from the lobby, or turns them away; without `knockIds`, everyone waiting. */
  answerKnocks: z.object({ admit: z.boolean(), knockIds: z.array(Id).min(1).max(200).optional() }),
  /** Ends the meeting for everyone. */
  endMeeting: EmptyRequest,
  /** Lowers someone's hand (anyone may lower their own with `lowerHand` and no peerId). */
  lowerHand: z.object({ peerId: Id.optional() }),
  lowerAllHands: EmptyRequest,
  raiseHand: EmptyRequest,
  react: z.object({ reaction: Reaction }),
} as const;

export interface ModerationResponses {
  muteParticipant: Record<string, never>;
  muteAll: { muted: number };
  askToUnmute: Record<string, never>;
  removeParticipant: Record<string, never>;
  setRole: Record<string, never>;
  setPolicy: { policy: RoomPolicy };
  answerKnocks: { answered: number };
  endMeeting: Record<string, never>;
  lowerHand: Record<string, never>;
  lowerAllHands: Record<string, never>;
  raiseHand: Record<string, never>;
  react: Record<string, never>;
}

/** The ones only hosts and moderators may send (`setRole`: hosts only). */
export const MODERATOR_REQUESTS = [
  'muteParticipant',
  'muteAll',
  'askToUnmute',
  'removeParticipant',
  'setRole',
  'setPolicy',
  'answerKnocks',
  'endMeeting',
  'lowerAllHands',
] as const satisfies readonly (keyof typeof ModerationRequests)[];

// ---- Notifications ----

export interface ModerationNotifications {
  /** The room's rules changed (to everyone). */
  policy: RoomPolicy;
  /** Who waits in the lobby (to hosts and moderators, whenever it changes). */
  lobby: { knocks: Knock[] };
  /** To someone waiting: whether anyone who can let them in is in the room. */
  lobbyStatus: { moderatorsPresent: boolean };
  /** To someone waiting: the answer. Admitted: send `join` again. */
  knockAnswered: { admitted: boolean; reason?: 'denied' | 'timeout' | 'ended'; message: string };
  /** A host or moderator turned this participant's source off (mic/camera paused, screen closed). */
  mutedBy: { source: z.infer<typeof ModeratedSource>; by: Actor };
  /** A host or moderator asks this participant to turn their microphone on. */
  unmuteRequested: { by: Actor };
  reaction: { peerId: string; reaction: Reaction };
}

export { Role };
