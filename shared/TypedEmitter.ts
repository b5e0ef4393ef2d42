/**
 * A minimal typed event emitter that runs in Node and the browser alike. The event map names each
 * event's argument tuple, so `on('participantJoined', (p) => …)` is checked by the compiler.
 */
export type EventMap = { [event: string]: unknown[] };

type Listener<Args extends unknown[]> = (...args: Args) => void;
type ListenerSets<Events extends EventMap> = { [K in keyof Events]?: Set<Listener<Events[K]>> };

export class TypedEmitter<Events extends EventMap> {
  private listeners: ListenerSets<Events> = {};

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const set = this.listeners[event] ?? new Set<Listener<Events[K]>>();
    set.add(listener);
    this.listeners[event] = set;
    return this;
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    this.listeners[event]?.delete(listener);
    return this;
  }

  removeAllListeners(): void {
    this.listeners = {};
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const listener of [...(this.listeners[event] ?? [])]) listener(...args);
  }
}
