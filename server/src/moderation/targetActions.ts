import { z } from 'zod';
import type { Actor } from '../../../shared/moderation.js';
import { MediaSource } from '../../../shared/protocol.js';
import type { Peer } from '../rooms/Peer.js';
import type { Meeting } from './Meeting.js';

/**
 * What a host or moderator does to one participant. A schema, because in a room spanning nodes the
 * action is carried out by the node the participant is on (server/src/cluster: `moderate`).
 */
export const TargetAction = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mute'), source: MediaSource }),
  z.object({ kind: z.literal('askToUnmute') }),
  z.object({ kind: z.literal('remove'), ban: z.boolean() }),
  z.object({ kind: z.literal('setRole'), role: z.enum(['moderator', 'participant']) }),
  z.object({ kind: z.literal('lowerHand') }),
]);
export type TargetAction = z.infer<typeof TargetAction>;

/** A moderation action passed to the node its target is on, as the actor made it. */
export const ModerationCall = z.object({
  roomId: z.string().min(1).max(64),
  peerId: z.string().min(1).max(64),
  by: z.union([z.object({ peerId: z.string().min(1).max(64), displayName: z.string().max(200) }), z.object({ admin: z.literal(true) })]),
  action: TargetAction,
});
export type ModerationCall = z.infer<typeof ModerationCall>;

/** Carries out `action` by `by` on `target`, a participant of `meeting`'s room on this node. */
export async function carryOut(meeting: Meeting, by: Actor, target: Peer, action: TargetAction): Promise<void> {
  switch (action.kind) {
    case 'mute':
      return meeting.mute(by, target, action.source);
    case 'askToUnmute':
      return meeting.askToUnmute(by, target);
    case 'remove':
      return meeting.remove(by, target, action.ban);
    case 'setRole':
      return meeting.setRole(by, target, action.role);
    case 'lowerHand':
      return meeting.lowerHand(by, target);
  }
}
