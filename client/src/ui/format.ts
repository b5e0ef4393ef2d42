/** Hours and minutes in the reader's locale, as chat apps show them. */
export function timeOf(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
