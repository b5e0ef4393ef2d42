/** One timer per period for every subscriber of this process: hundreds of participants, a handful of timers. */
const groups = new Map<number, { timer: NodeJS.Timeout; callbacks: Set<() => void> }>();

/** Calls `callback` every `periodMs` until the returned function is called. */
export function sharedInterval(periodMs: number, callback: () => void): () => void {
  let group = groups.get(periodMs);
  if (!group) {
    const callbacks = new Set<() => void>();
    group = { callbacks, timer: setInterval(() => callbacks.forEach((each) => each()), periodMs) };
    groups.set(periodMs, group);
  }
  group.callbacks.add(callback);
  return () => {
    group.callbacks.delete(callback);
    if (group.callbacks.size === 0) {
      clearInterval(group.timer);
      groups.delete(periodMs);
    }
  };
}
