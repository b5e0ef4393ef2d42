import { formatTime } from '../i18n/i18n.js';

/** Hours and minutes in the reader's language, as chat apps show them. */
export function timeOf(at: number): string {
  return formatTime(at);
}

/** A length of time as clocks write it, the same in every language: 0:42, 12:05, 1:02:03. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}
