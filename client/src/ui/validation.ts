import type { z } from 'zod';
import { DISPLAY_NAME_MAX, DisplayName, ROOM_ID_MAX, RoomId } from '../../../shared/identity.js';
import { msg, type Msg } from '../i18n/i18n.js';

/**
 * The room and name checks the server makes too (shared/identity.ts), with their English
 * messages replaced by the reader's language: the first issue's code says which rule failed.
 */
export function validateJoin(room: string, name: string): { room: string; name: string } | { problem: Msg } {
  const roomCheck = RoomId.safeParse(room);
  if (!roomCheck.success) return { problem: roomIssue(roomCheck.error) };
  const nameCheck = DisplayName.safeParse(name);
  if (!nameCheck.success) return { problem: nameIssue(nameCheck.error) };
  return { room: roomCheck.data, name: nameCheck.data };
}

function roomIssue(error: z.ZodError): Msg {
  switch (error.issues[0]?.code) {
    case 'too_small':
      return msg('prejoin.invalid.roomRequired');
    case 'too_big':
      return msg('prejoin.invalid.roomTooLong', { max: ROOM_ID_MAX });
    default:
      return msg('prejoin.invalid.roomFormat');
  }
}

function nameIssue(error: z.ZodError): Msg {
  switch (error.issues[0]?.code) {
    case 'too_small':
      return msg('prejoin.invalid.nameRequired');
    case 'too_big':
      return msg('prejoin.invalid.nameTooLong', { max: DISPLAY_NAME_MAX });
    default:
      return msg('prejoin.invalid.nameFormat');
  }
}
