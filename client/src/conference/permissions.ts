import type { RoomPolicy } from '../../../shared/moderation.js';
import { moderates, type Role } from '../../../shared/roles.js';

/** What a host or moderator can do to someone else, as the participants list offers it. */
export type ParticipantAction = 'muteMic' | 'stopCamera' | 'stopScreen' | 'askToUnmute' | 'lowerHand' | 'makeModerator' | 'revokeModerator' | 'remove' | 'ban';

/** Someone as the actions on them depend on: role, hand, and what they send now. */
export interface ActionTarget {
  role: Role;
  handRaisedAt: number | null;
  micOn: boolean;
  cameraOn: boolean;
  sharingScreen: boolean;
}

/**
 * The actions `viewer` may take on `target`, in the order a menu lists them; the same rules the
 * server checks (moderators may not act on a host; only hosts change roles), so nothing is
 * offered that would be refused. Empty for a participant.
 */
export function actionsOn(viewer: Role, target: ActionTarget): ParticipantAction[] {
  if (!moderates(viewer) || (target.role === 'host' && viewer !== 'host')) return [];
  const actions: ParticipantAction[] = [target.micOn ? 'muteMic' : 'askToUnmute'];
  if (target.cameraOn) actions.push('stopCamera');
  if (target.sharingScreen) actions.push('stopScreen');
  if (target.handRaisedAt !== null) actions.push('lowerHand');
  if (viewer === 'host' && target.role !== 'host') actions.push(target.role === 'moderator' ? 'revokeModerator' : 'makeModerator');
  actions.push('remove', 'ban');
  return actions;
}

/** What the room's rules let someone of `role` do beyond speaking for themself. */
export function permitted(policy: RoomPolicy, role: Role, what: 'screenShare' | 'chat' | 'files'): boolean {
  return policy[what] === 'everyone' || moderates(role);
}
