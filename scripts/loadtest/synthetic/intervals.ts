/** One timer per period for every subscriber of this process: hundreds of participants, a handful of timers. */
const groups = new Map<number, { timer: NodeJS.Timeout; callbacks: Set<() => void> }>();

/** Calls `callback` every `periodMs` until the returned function is called. */
export function sharedInterval(periodMs: number, callback: () => void): () => void {
  let group = groups.get(periodMs);
  if (!group) {
    const callbacks = new Set<() => void>();
    const run = (each: () => void): void => {
      try {
        each();
      } catch {
        // one participant's bad moment must not end the thread and everyone in it
      }
    };
    group = { callbacks, timer: setInterval(() => callbacks.forEach(run), periodMs) };
    groups.set(periodMs, group);
  }
  group.callbacks.add(callback);
  return () => {
    if (!group.callbacks.delete(callback)) return; // stopped already
    if (group.callbacks.size === 0 && groups.get(periodMs) === group) {
      clearInterval(group.timer);
      groups.delete(periodMs);
    }
  };
}

/** A token bucket: `turn()` resolves when one more request fits `perSecond` with bursts of `burst`. */
export class RequestPacer {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  turn(): Promise<void> {
    // Chained, so waiting requests go in the order they asked.
    this.queue = this.queue.then(async () => {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens < 1) {
        await new Promise((resolve) => setTimeout(resolve, ((1 - this.tokens) / this.perSecond) * 1000));
        this.tokens = 1;
        this.last = performance.now();
      }
      this.tokens -= 1;
    });
    return this.queue;
  }
}
