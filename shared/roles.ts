import { z } from 'zod';

/**
 * What a participant may do in a room. A host may do everything, including making others
 * moderator; a moderator everything but roles; a participant only speaks for themself.
 */
export const Role = z.enum(['host', 'moderator', 'participant']);
export type Role = z.infer<typeof Role>;

/** Hosts and moderators run the meeting (mute, remove, lock, admit…). */
export function moderates(role: Role): boolean {
  return role === 'host' || role === 'moderator';
}
