import { formatTime } from '../i18n/i18n.js';

/** Hours and minutes in the reader's language, as chat apps show them. */
export function timeOf(at: number): string {
  return formatTime(at);
}
