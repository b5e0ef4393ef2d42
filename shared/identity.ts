import { z } from 'zod';

export const ROOM_ID_MAX = 64;
export const DISPLAY_NAME_MAX = 40;

/** Room ids travel in URLs, so they stay URL-safe and readable. */
export const RoomId = z
  .string()
  .min(1, 'Room name is required')
  .max(ROOM_ID_MAX, `Room name is at most ${ROOM_ID_MAX} characters`)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'Room name may use letters, digits, "-", "_" and "." and must start with a letter or digit');

/** Display names are shown to others: printable text, no control or bidi-override characters. */
export const DisplayName = z
  .string()
  .trim()
  .min(1, 'Name is required')
  .max(DISPLAY_NAME_MAX, `Name is at most ${DISPLAY_NAME_MAX} characters`)
  .regex(/^[^\p{Cc}\p{Cf}<>]+$/u, 'Name may not contain control characters or < >');

/** First message of a zod failure, for a one-line message in the UI. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Invalid value';
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}
