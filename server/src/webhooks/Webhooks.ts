import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebhookEvent, WebhookEventName, WebhookPayload } from '../../../shared/webhooks.js';
import type { Logger } from '../logger.js';
import { fieldsOf, signature } from './body.js';
import { Receiver } from './Receiver.js';

/** How a failed delivery is tried again. */
export interface WebhookRetry {
  /** The first wait; each failure doubles it up to `maxMs`, and each wait is jittered down by up to half. */
  initialMs: number;
  maxMs: number;
  /** Attempts before an event is given up (dropped, reason `gave_up`) and its room's next event goes. */
  attempts: number;
  /** An event this old is given up at its next failure, however few attempts it had. */
  maxAgeMs: number;
}

export interface WebhooksOptions {
  /** Receivers: each gets every event. */
  urls: readonly string[];
  /** Signs each request (`X-Conclave-Signature`); unset, requests go unsigned. */
  secret: string | undefined;
  /** This instance's name, in every event's `server`. */
  server: string;
  /** Events waiting over all receivers (each receiver's copy counts); beyond it the oldest are dropped. */
  maxQueued?: number;
  retry?: Partial<WebhookRetry>;
  /** One attempt's limit, from sending to the response's status line. */
  timeoutMs?: number;
  /** Requests on their way to one receiver at once (each from a different room). */
  concurrency?: number;
  /** The global fetch unless given, e.g. one bound to an outgoing proxy. */
  fetch?: typeof fetch;
  log: Logger;
}

/** For /metrics: counters since start, and what is waiting now. */
export interface WebhookStats {
  queued: number;
  delivered: number;
  failedAttempts: number;
  dropped: { overflow: number; gaveUp: number };
}

export type WebhookDropReason = 'overflow' | 'gave_up';

const DEFAULT_RETRY: WebhookRetry = { initialMs: 500, maxMs: 30_000, attempts: 20, maxAgeMs: 3_600_000 };
/** A dead receiver fails every few seconds; the log says so once in this long, with the count left unsaid. */
const WARN_INTERVAL_MS = 60_000;

/** One event on its way to one receiver. */
interface Delivery {
  readonly receiver: Receiver;
  readonly lane: Lane;
  readonly event: WebhookEventName;
  readonly id: string;
  readonly createdAt: number;
  readonly body: string;
  /** Stops its request or back-off when it is dropped or the queue closes. */
  readonly abort: AbortController;
  done: boolean;
}

/** One room's events for one receiver, oldest first: only the first is ever on its way. */
export interface Lane {
  readonly room: string;
  readonly queue: Delivery[];
}

/**
 * Sends room life-cycle events to the operator's receivers (docs/webhooks.md). `emit` only queues:
 * it never throws and never waits, so the media path is never held by a slow receiver. Each room's
 * events reach each receiver in order, one at a time (the next after the previous was delivered or
 * given up); rooms and receivers go independently. Delivery is at least once: a non-2xx answer, a
 * network error or a timeout is tried again with back-off, and the same event id comes again.
 *
 * Memory is bounded by `maxQueued`: past it, the oldest waiting events are dropped (counted by
 * reason in `stats()`, warned about at most once a minute per receiver). `close()` drops whatever is
 * still waiting; `flush()` first gives it a chance to go out.
 */
export class Webhooks {
  private readonly receivers: Receiver[];
  private readonly secret: string | undefined;
  private readonly server: string;
  private readonly maxQueued: number;
  private readonly retry: WebhookRetry;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly log: Logger;
  /** Every delivery not done yet, over all receivers, oldest first (a Set keeps insertion order). */
  private readonly pending = new Set<Delivery>();
  private readonly drainWaiters = new Set<(drained: boolean) => void>();
  private readonly warned = new Map<string, { at: number; unsaid: number }>();
  private delivered = 0;
  private failedAttempts = 0;
  private readonly dropped = { overflow: 0, gaveUp: 0 };
  private closed = false;

  constructor(options: WebhooksOptions) {
    this.receivers = options.urls.map((url) => new Receiver(url, options.concurrency ?? 8));
    this.secret = options.secret;
    this.server = options.server;
    this.maxQueued = Math.max(1, options.maxQueued ?? 10_000);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.fetch = options.fetch ?? fetch;
    this.log = options.log;
  }

  /** Queues the event for every receiver, with a fresh id and the current time. Never throws, never waits. */
  emit(payload: WebhookPayload): void {
    if (this.closed || this.receivers.length === 0) return;
    try {
      const event: WebhookEvent = { id: randomUUID(), createdAt: Date.now(), server: this.server, ...fieldsOf(payload) };
      const body = JSON.stringify(event);
      for (const receiver of this.receivers) this.enqueue(receiver, event, body);
      for (const oldest of this.pending) {
        if (this.pending.size <= this.maxQueued) break;
        this.drop(oldest, 'overflow');
      }
    } catch (error) {
      this.log.error({ err: error, event: payload.event }, 'webhook event could not be queued');
    }
  }

  stats(): WebhookStats {
    return { queued: this.pending.size, delivered: this.delivered, failedAttempts: this.failedAttempts, dropped: { ...this.dropped } };
  }

  /** Waits until nothing is queued (true), or `timeoutMs` passed or the queue closed (false). For graceful shutdown, before `close()`. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.pending.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const settle = (drained: boolean): void => {
        clearTimeout(timer);
        this.drainWaiters.delete(settle);
        resolve(drained);
      };
      const timer = setTimeout(() => settle(false), timeoutMs);
      this.drainWaiters.add(settle);
    });
  }

  /** Stops every request and timer; events still queued are dropped (not counted), and later emits are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const delivery of this.pending) {
      delivery.done = true;
      delivery.abort.abort();
    }
    this.pending.clear();
    for (const receiver of this.receivers) {
      receiver.lanes.clear();
      receiver.releaseAll();
    }
    for (const settle of [...this.drainWaiters]) settle(false);
  }

  private enqueue(receiver: Receiver, event: WebhookEvent, body: string): void {
    let lane = receiver.lanes.get(event.room);
    if (lane === undefined) {
      const fresh: Lane = { room: event.room, queue: [] };
      receiver.lanes.set(event.room, fresh);
      // Later, not on the emitter's path; the lane's loop ends (and forgets the lane) when its queue is empty.
      setImmediate(() => void this.run(receiver, fresh));
      lane = fresh;
    }
    const delivery: Delivery = {
      receiver,
      lane,
      event: event.event,
      id: event.id,
      createdAt: event.createdAt,
      body,
      abort: new AbortController(),
      done: false,
    };
    lane.queue.push(delivery);
    this.pending.add(delivery);
  }

  private async run(receiver: Receiver, lane: Lane): Promise<void> {
    for (let next = lane.queue[0]; next !== undefined && !this.closed; next = lane.queue[0]) await this.deliver(next);
    if (receiver.lanes.get(lane.room) === lane) receiver.lanes.delete(lane.room);
  }

  /** Tries until the event is delivered, given up or dropped; then it has left its lane. */
  private async deliver(delivery: Delivery): Promise<void> {
    const { receiver } = delivery;
    for (let attempt = 1; ; attempt++) {
      await receiver.turn();
      let failure: string | undefined;
      try {
        if (!delivery.done) failure = await this.attempt(delivery);
      } finally {
        receiver.release();
      }
      if (delivery.done) return;
      if (failure === undefined) {
        this.delivered++;
        this.finish(delivery);
        return;
      }
      this.failedAttempts++;
      this.warn(`failing ${receiver.url}`, { receiver: receiver.label, status: failure }, 'webhook receiver failing; retrying with back-off');
      if (attempt >= this.retry.attempts || Date.now() - delivery.createdAt >= this.retry.maxAgeMs) {
        this.drop(delivery, 'gave_up', { attempts: attempt, status: failure });
        return;
      }
      await sleep(this.backoff(attempt), undefined, { signal: delivery.abort.signal, ref: false }).catch(() => undefined);
      if (delivery.done) return;
    }
  }

  /** One POST; undefined when the receiver answered 2xx, else what went wrong. */
  private async attempt(delivery: Delivery): Promise<string | undefined> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Conclave-Webhooks',
      'X-Conclave-Event': delivery.event,
      'X-Conclave-Event-Id': delivery.id,
      'X-Conclave-Timestamp': timestamp,
    };
    if (this.secret !== undefined) headers['X-Conclave-Signature'] = signature(this.secret, timestamp, delivery.body);
    try {
      const response = await this.fetch(delivery.receiver.url, {
        method: 'POST',
        headers,
        body: delivery.body,
        // A redirect is a failure: the signed body goes nowhere the operator did not configure.
        redirect: 'manual',
        signal: AbortSignal.any([delivery.abort.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      await response.body?.cancel().catch(() => undefined);
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      return failureOf(error, this.timeoutMs);
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** (attempt - 1));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  /** The delivery leaves its lane and the queue; its lane's next event may go. */
  private finish(delivery: Delivery): void {
    if (delivery.done) return;
    delivery.done = true;
    const { queue } = delivery.lane;
    queue.splice(queue.indexOf(delivery), 1);
    this.pending.delete(delivery);
    if (this.pending.size === 0) for (const settle of [...this.drainWaiters]) settle(true);
  }

  private drop(delivery: Delivery, reason: WebhookDropReason, details: object = {}): void {
    this.finish(delivery);
    delivery.abort.abort();
    if (reason === 'overflow') this.dropped.overflow++;
    else this.dropped.gaveUp++;
    this.warn(
      `${reason} ${delivery.receiver.url}`,
      { receiver: delivery.receiver.label, reason, event: delivery.event, eventId: delivery.id, ...details },
      reason === 'overflow' ? `webhook queue full (${this.maxQueued}): oldest event dropped` : 'webhook event given up',
    );
  }

  /** Once per WARN_INTERVAL_MS per key, saying how many were left unsaid meanwhile. */
  private warn(key: string, fields: object, message: string): void {
    const now = Date.now();
    const last = this.warned.get(key);
    if (last !== undefined && now - last.at < WARN_INTERVAL_MS) {
      last.unsaid++;
      return;
    }
    this.warned.set(key, { at: now, unsaid: 0 });
    this.log.warn({ ...fields, ...(last?.unsaid ? { alsoSinceLastWarning: last.unsaid } : {}) }, message);
  }
}

/** A network error says why in its cause (ECONNREFUSED, ENOTFOUND…). */
function failureOf(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const { cause } = error;
  if (cause instanceof Error) return 'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message;
  return error.message;
}
