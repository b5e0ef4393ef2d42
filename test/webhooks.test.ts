// Over ~350 lines on purpose: webhook delivery (signing, order, retries), from a running server, and
// its configuration: one concern, side by side.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../scripts/loadtest/prometheus.js';
import { ConfigError, parseConfig, redactConfig } from '../server/src/config.js';
import { registerWebhookMetrics } from '../server/src/http/metrics.js';
import { Webhooks, type WebhooksOptions } from '../server/src/webhooks/Webhooks.js';
import type { WebhookEvent, WebhookParticipant, WebhookPayload } from '../shared/webhooks.js';
import { TestParticipant, unwrap } from './helpers/participant.js';
import { startTestServer } from './helpers/server.js';

const SECRET = 'receiver-shared-secret-0123456789';

/** What a receiver got: one POST. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  event: WebhookEvent;
  status: number;
}

/** How the receiver answers a request: a status, and how long it takes to say it. */
type Answer = (request: Omit<Received, 'status'>) => { status: number; delayMs?: number };

/** A real HTTP receiver on 127.0.0.1, as an operator would run one. */
class Receiver {
  readonly requests: Received[] = [];
  /** The most requests it held unanswered at once. */
  maxOpen = 0;
  private open = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const request = { path: req.url ?? '', headers: req.headers, body, event: JSON.parse(body) as WebhookEvent };
      const { status, delayMs = 0 } = this.answer(request);
      this.requests.push({ ...request, status });
      this.maxOpen = Math.max(this.maxOpen, ++this.open);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.open--;
        res.writeHead(status).end();
      }, delayMs);
      this.timers.add(timer);
    });
  });

  private constructor(private readonly answer: Answer) {}

  static async start(answer: Answer = () => ({ status: 200 }), port = 0): Promise<Receiver> {
    const receiver = new Receiver(answer);
    await new Promise<void>((resolve) => receiver.server.listen(port, '127.0.0.1', resolve));
    receivers.push(receiver);
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Events answered 2xx, in the order they arrived. */
  accepted(path?: string): WebhookEvent[] {
    return this.requests.filter((request) => request.status < 300 && (path === undefined || request.path === path)).map((request) => request.event);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const receivers: Receiver[] = [];
const queues: Webhooks[] = [];

afterEach(async () => {
  for (const queue of queues.splice(0)) queue.close();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

function webhooks(options: Partial<WebhooksOptions> & Pick<WebhooksOptions, 'urls'>): Webhooks {
  const queue = new Webhooks({ secret: undefined, server: 'test-node', log: pino({ level: 'silent' }), ...options });
  queues.push(queue);
  return queue;
}

function joined(room: string, index: number): WebhookPayload<'participant_joined'> {
  return { event: 'participant_joined', room, participant: { id: `${room}-${index}`, name: `Guest ${index}`, role: 'participant' } };
}

/** Which participant each event was about, in order. */
function participantIds(events: WebhookEvent[], room?: string): string[] {
  return events.filter((event) => room === undefined || event.room === room).map((event) => ('participant' in event ? event.participant.id : event.event));
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * How docs/webhooks.md tells a receiver to check a request: HMAC-SHA256 of `<timestamp>.<raw body>`
 * under the shared secret, compared in constant time, and a timestamp no more than 5 minutes off.
 */
function verifyConclaveSignature(secret: string, headers: IncomingHttpHeaders, rawBody: Buffer | string): boolean {
  const timestamp = headers['x-conclave-timestamp'];
  const signature = headers['x-conclave-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  // Written so that a timestamp that is not a number fails too (NaN compares false).
  if (!(Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300)) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhooks', () => {
  it("delivers every event to every receiver, each room's in the order it happened", async () => {
    // Answers take 0–15 ms at random, so a room that is not kept in order would show it.
    const receiver = await Receiver.start(() => ({ status: 200, delayMs: Math.random() * 15 }));
    const queue = webhooks({ urls: [`${receiver.url}/one`, `${receiver.url}/two`] });

    const before = Date.now();
    for (let index = 0; index < 20; index++) {
      queue.emit(joined('room-a', index));
      queue.emit(joined('room-b', index));
    }
    expect(await queue.flush(30_000)).toBe(true);

    for (const path of ['/one', '/two']) {
      for (const room of ['room-a', 'room-b']) {
        expect(participantIds(receiver.accepted(path), room)).toEqual(Array.from({ length: 20 }, (_, index) => `${room}-${index}`));
      }
    }
    expect(queue.stats()).toEqual({ queued: 0, delivered: 80, failedAttempts: 0, dropped: { overflow: 0, gaveUp: 0 } });

    const first = receiver.requests.find(({ path, event }) => path === '/one' && participantIds([event])[0] === 'room-a-0');
    expect(first!.headers['content-type']).toBe('application/json');
    expect(first!.headers['x-conclave-event']).toBe('participant_joined');
    expect(first!.headers['x-conclave-event-id']).toBe(first!.event.id);
    expect(Number(first!.headers['x-conclave-timestamp'])).toBeCloseTo(Date.now() / 1000, -2);
    expect(first!.headers['x-conclave-signature']).toBeUndefined();
    expect(first!.event).toEqual({
      event: 'participant_joined',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      createdAt: expect.any(Number),
      server: 'test-node',
      room: 'room-a',
      participant: { id: 'room-a-0', name: 'Guest 0', role: 'participant' },
    });
    expect(first!.event.createdAt).toBeGreaterThanOrEqual(before);
    // Each receiver gets its own copy of an event, under the same id; every event a fresh one.
    const ids = receiver.accepted('/one').map((event) => event.id);
    expect(new Set(ids).size).toBe(40);
    expect(receiver.accepted('/two').map((event) => event.id)).toEqual(expect.arrayContaining(ids));
  });

  it('signs each request so the receiver can check it with the documented recipe', async () => {
    const receiver = await Receiver.start(({ headers, body }) => ({ status: verifyConclaveSignature(SECRET, headers, body) ? 204 : 401 }));
    const queue = webhooks({ urls: [receiver.url], secret: SECRET });

    queue.emit({ event: 'room_started', room: 'signed' });
    queue.emit(joined('signed', 1));
    queue.emit({ event: 'room_finished', room: 'signed' });
    expect(await queue.flush(30_000)).toBe(true);

    expect(receiver.requests.map(({ status }) => status)).toEqual([204, 204, 204]);
    expect(receiver.accepted().map(({ event }) => event)).toEqual(['room_started', 'participant_joined', 'room_finished']);
    const [{ headers, body }] = receiver.requests as [Received];
    expect(headers['x-conclave-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    // A changed body, a wrong secret or a replay of an old request does not pass.
    expect(verifyConclaveSignature(SECRET, headers, body.replace('signed', 'forged'))).toBe(false);
    expect(verifyConclaveSignature(`${SECRET}-other`, headers, body)).toBe(false);
    expect(verifyConclaveSignature(SECRET, { ...headers, 'x-conclave-timestamp': String(Number(headers['x-conclave-timestamp']) - 3600) }, body)).toBe(false);
  });

  it('never carries a token or a secret, even when the caller hands over a richer participant', async () => {
    const receiver = await Receiver.start();
    const queue = webhooks({ urls: [receiver.url], secret: SECRET });
    const joinToken = 'eyJhbGciOiJIUzI1NiJ9.join-token-of-ana';
    // What a careless caller might pass: the server's own participant object, token and all.
    const ana = { id: 'p-ana', name: 'Ana', role: 'participant', token: joinToken, resumeToken: joinToken } as WebhookParticipant;
    const host = { id: 'p-host', name: 'Host', secret: joinToken } as { id: string; name: string };

    queue.emit({ event: 'participant_removed', room: 'r', participant: ana, by: host, reason: 'removed by a moderator', ban: true });
    expect(await queue.flush(30_000)).toBe(true);

    const [{ body, headers }] = receiver.requests as [Received];
    for (const secret of [joinToken, SECRET]) {
      expect(body).not.toContain(secret);
      expect(JSON.stringify(headers)).not.toContain(secret);
    }
    expect(JSON.parse(body)).toEqual({
      event: 'participant_removed',
      id: expect.any(String),
      createdAt: expect.any(Number),
      server: 'test-node',
      room: 'r',
      participant: { id: 'p-ana', name: 'Ana', role: 'participant' },
      by: { id: 'p-host', name: 'Host' },
      reason: 'removed by a moderator',
      ban: true,
    });
  });

  it("retries a failed event with the same id, and the room's later events wait behind it", async () => {
    const attempts = new Map<string, number>();
    // The receiver is down for the second event: it answers 503 twice, then takes it.
    const receiver = await Receiver.start(({ event }) => {
      const key = participantIds([event])[0]!;
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
      return { status: key === 'r-1' && attempts.get(key)! <= 2 ? 503 : 200 };
    });
    const queue = webhooks({ urls: [receiver.url], retry: { initialMs: 50, maxMs: 200 } });

    for (let index = 0; index < 5; index++) queue.emit(joined('r', index));
    expect(await queue.flush(30_000)).toBe(true);

    expect(participantIds(receiver.accepted())).toEqual(['r-0', 'r-1', 'r-2', 'r-3', 'r-4']);
    // Every request in arrival order: r-2 went only after r-1's third attempt was taken.
    expect(participantIds(receiver.requests.map(({ event }) => event))).toEqual(['r-0', 'r-1', 'r-1', 'r-1', 'r-2', 'r-3', 'r-4']);
    const retried = receiver.requests.filter(({ event }) => participantIds([event])[0] === 'r-1');
    expect(retried.map(({ status }) => status)).toEqual([503, 503, 200]);
    expect(new Set(retried.map(({ event }) => event.id)).size).toBe(1);
    expect(new Set(retried.map(({ headers }) => headers['x-conclave-event-id'])).size).toBe(1);
    expect(queue.stats()).toEqual({ queued: 0, delivered: 5, failedAttempts: 2, dropped: { overflow: 0, gaveUp: 0 } });
  });

  it('gives an event up after its attempts, and a failing room holds up no other room', async () => {
    const receiver = await Receiver.start(({ event }) => ({ status: participantIds([event])[0] === 'stuck-0' ? 500 : 200 }));
    const queue = webhooks({ urls: [receiver.url], retry: { initialMs: 100, maxMs: 400, attempts: 4 } });

    queue.emit(joined('stuck', 0));
    queue.emit(joined('stuck', 1));
    for (let index = 0; index < 3; index++) queue.emit(joined('free', index));
    expect(await queue.flush(30_000)).toBe(true);

    const order = participantIds(receiver.requests.map(({ event }) => event));
    expect(order.filter((id) => id === 'stuck-0')).toHaveLength(4);
    // The free room was done while the stuck one was still retrying its first event.
    expect(order.lastIndexOf('free-2')).toBeLessThan(order.lastIndexOf('stuck-0'));
    expect(participantIds(receiver.accepted(), 'stuck')).toEqual(['stuck-1']);
    expect(queue.stats()).toEqual({ queued: 0, delivered: 4, failedAttempts: 4, dropped: { overflow: 0, gaveUp: 1 } });
  });

  it('keeps at most maxQueued events for a dead receiver, drops the oldest, warns once, and delivers the newest when it is back', async () => {
    // A port nobody listens on: take one, then let it go.
    const gone = await Receiver.start();
    const url = gone.url;
    const port = Number(new URL(url).port);
    await gone.close();
    const warnings: { msg: string; reason?: string }[] = [];
    const log: Logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });
    const queue = webhooks({ urls: [url], maxQueued: 5, retry: { initialMs: 20, maxMs: 100, attempts: 10_000 }, log });

    for (let index = 0; index < 20; index++) queue.emit(joined('r', index));
    expect(queue.stats()).toMatchObject({ queued: 5, dropped: { overflow: 15, gaveUp: 0 } });
    await until(() => queue.stats().failedAttempts >= 5, 'several failed attempts');
    expect(queue.stats()).toMatchObject({ queued: 5, delivered: 0, dropped: { overflow: 15, gaveUp: 0 } });
    // Fifteen drops and a receiver refusing every few milliseconds: one line for each, not one per event.
    expect(warnings.filter((line) => line.reason === 'overflow')).toHaveLength(1);
    expect(warnings.filter((line) => /failing/.test(line.msg))).toHaveLength(1);
    expect(warnings.length).toBeLessThanOrEqual(2);

    const back = await Receiver.start(undefined, port);
    expect(await queue.flush(30_000)).toBe(true);
    expect(participantIds(back.accepted())).toEqual(['r-15', 'r-16', 'r-17', 'r-18', 'r-19']);

    const registry = new Registry();
    registerWebhookMetrics(registry, () => queue.stats());
    const samples = parsePrometheusText(await registry.metrics());
    expect(sampleValue(samples, 'conclave_webhook_events_delivered_total')).toBe(5);
    expect(sampleValue(samples, 'conclave_webhook_delivery_failures_total')).toBeGreaterThanOrEqual(5);
    expect(sampleValue(samples, 'conclave_webhook_events_dropped_total', { reason: 'overflow' })).toBe(15);
    expect(sampleValue(samples, 'conclave_webhook_events_dropped_total', { reason: 'gave_up' })).toBe(0);
    expect(sampleValue(samples, 'conclave_webhook_events_queued')).toBe(0);
  });

  it('does not hold the emitter when the receiver is slow, nor open more than `concurrency` requests to it', async () => {
    const receiver = await Receiver.start(() => ({ status: 200, delayMs: 2000 }));
    const queue = webhooks({ urls: [receiver.url], concurrency: 4 });
    for (let index = 0; index < 50; index++) queue.emit(joined('warm-up', index));

    const took: number[] = [];
    const start = performance.now();
    for (let index = 0; index < 1000; index++) {
      const before = performance.now();
      queue.emit(joined(`room-${index % 10}`, index));
      took.push(performance.now() - before);
    }
    const total = performance.now() - start;
    // Nothing went out on the emitter's path: a blocking emit would have taken 2 s for the first event.
    expect(receiver.requests).toHaveLength(0);
    expect(total).toBeLessThan(1000);
    // Microseconds each on an idle machine; the 99th percentile leaves room for a loaded one's preemptions.
    expect(took.sort((a, b) => a - b)[989]).toBeLessThan(5);

    await until(() => receiver.requests.length >= 4, 'the first requests');
    // No fifth request opens meanwhile: an absence, watched over a short window.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.maxOpen).toBe(4);

    // Shutting down drops what is still waiting, and stops its timers and requests.
    queue.close();
    expect(queue.stats().queued).toBe(0);
    queue.emit(joined('after-close', 0));
    expect(queue.stats().queued).toBe(0);
  });
});

describe('webhooks from a running server', () => {
  it('tell a receiver how a meeting went, in order, signed, through a failed delivery', async () => {
    let failedOnce = false;
    // The first attempt at Ben's join fails: everything after it waits, and the retry keeps the order.
    const receiver = await Receiver.start(({ event }) => {
      if (!failedOnce && event.event === 'participant_joined' && event.participant.name === 'Ben') {
        failedOnce = true;
        return { status: 500 };
      }
      return { status: 200 };
    });
    const server = await startTestServer({ WEBHOOK_URLS: `${receiver.url}/hooks`, WEBHOOK_SECRET: SECRET });
    const [ana, ben] = await Promise.all(['Ana', 'Ben'].map((name) => TestParticipant.connect(server.url, name)));
    try {
      await ana!.join('hooked');
      await ben!.join('hooked');
      const anaId = ana!.id;
      unwrap(await ana!.request('removeParticipant', { peerId: ben!.id, ban: true }), 'remove Ben');
      await ana!.leave();
      await until(() => receiver.accepted().some((event) => event.event === 'room_finished'), 'room_finished');
      const story = receiver.accepted().map((event) => `${event.event}${'participant' in event ? ` ${event.participant.name}` : ''}`);
      expect(story).toEqual([
        'room_started',
        'participant_joined Ana',
        'participant_joined Ben',
        'participant_removed Ben',
        'participant_left Ben',
        'participant_left Ana',
        'room_finished',
      ]);
      const removed = receiver.accepted().find((event) => event.event === 'participant_removed');
      expect(removed).toMatchObject({ room: 'hooked', by: { id: anaId, name: 'Ana' }, reason: 'banned', ban: true, participant: { role: 'participant' } });
      expect(receiver.requests.filter((request) => request.status === 500)).toHaveLength(1);
      const retried = receiver.requests.filter(
        (request) => request.event.event === 'participant_joined' && 'participant' in request.event && request.event.participant.name === 'Ben',
      );
      expect(new Set(retried.map((request) => request.event.id)).size).toBe(1);
      for (const request of receiver.requests) expect(verifyConclaveSignature(SECRET, request.headers, request.body)).toBe(true);
    } finally {
      await Promise.all([ana!.close(), ben!.close()]);
      await server.close();
    }
  });
});

describe('webhook configuration', () => {
  it('takes http(s) receiver URLs and a secret of at least 16 characters, and logs the URLs without their credentials', () => {
    const config = parseConfig({ WEBHOOK_URLS: 'https://hooks.example.org/conclave?token=abc, http://user:pw@10.0.0.5:8080/in', WEBHOOK_SECRET: SECRET });
    expect(config.WEBHOOK_URLS).toEqual(['https://hooks.example.org/conclave?token=abc', 'http://user:pw@10.0.0.5:8080/in']);
    expect(parseConfig({}).WEBHOOK_URLS).toEqual([]);
    const logged = redactConfig(config);
    expect(logged.WEBHOOK_URLS).toEqual(['https://hooks.example.org/conclave', 'http://10.0.0.5:8080/in']);
    expect(logged.WEBHOOK_SECRET).toBe('***');
  });

  it('refuses a receiver that is not an http(s) URL, or a short secret, with one line naming the variable', () => {
    expect(() => parseConfig({ WEBHOOK_URLS: 'https://ok.example.org/hook,ftp://files.example.org/hook' })).toThrow(
      new ConfigError('Invalid WEBHOOK_URLS="https://ok.example.org/hook,ftp://files.example.org/hook": not an http(s) URL: ftp://files.example.org/hook'),
    );
    expect(() => parseConfig({ WEBHOOK_URLS: 'hooks.example.org' })).toThrow(/^Invalid WEBHOOK_URLS=.*not an http\(s\) URL: hooks\.example\.org$/);
    expect(() => parseConfig({ WEBHOOK_SECRET: 'short' })).toThrow(/^Invalid WEBHOOK_SECRET="short": must be at least 16 characters$/);
  });
});
