import type { Browser } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SESSION_EVENTS_MAX, type SessionEvent } from '../shared/diagnostics.js';
import { RETAINED_EVENTS_MAX, SessionEvents } from '../server/src/session/SessionEvents.js';
import { launchChromium, leaveAndClose, openParticipant } from './helpers/browser.js';
import { Cast } from './helpers/cast.js';
import { unwrap, type TestParticipant } from './helpers/participant.js';
import { CLIENT_DIST, eventually, useServer } from './helpers/server.js';

const KEY = 'diagnostics-admin-key-0123456789abcdef';
const RETAIN_SECONDS = 3;

interface EventsAnswer {
  status: number;
  body: { participant?: { id: string; displayName: string; roomId: string; joinedAt: number; leftAt: number | null }; events?: SessionEvent[]; code?: string };
}

/** A compact view of an event, for comparing sequences: `kind` and what tells it apart. */
function label(event: SessionEvent): string {
  switch (event.kind) {
    case 'signalling':
      return `signalling:${event.state}`;
    case 'iceRestart':
      return `iceRestart:${event.transport}`;
    case 'left':
      return `left:${event.reason}`;
    case 'ice':
    case 'dtls':
      return `${event.kind}:${event.transport}:${event.state}`;
    case 'route':
      return `route:${event.transport}:${event.protocol}`;
    default:
      return event.kind;
  }
}

/**
 * The server's side of each participant's connection timeline (docs/diagnostics.md): what happened
 * to their session, sent to them as it happens (`sessionEvent`) and kept for the operator (the admin
 * API), also for a while after they left. Real server, real Socket.IO clients, one real browser
 * for what only real ICE and DTLS show.
 */
describe('session events, on the server', { timeout: 120_000 }, () => {
  const server = useServer({
    CLIENT_DIST,
    ADMIN_API_KEY: KEY,
    NUM_WORKERS: '2',
    SESSION_EVENTS_RETAIN_SECONDS: String(RETAIN_SECONDS),
    RECONNECT_GRACE_SECONDS: '20',
    RATE_LIMIT_PER_SECOND: '10000',
    RATE_LIMIT_BURST: '100000',
  });
  const cast = new Cast(server);

  afterEach(async () => {
    await cast.dismiss();
  });

  async function eventsOf(roomId: string, peerId: string, key: string | null = KEY): Promise<EventsAnswer> {
    const response = await fetch(`${server.url}/api/v1/rooms/${roomId}/participants/${peerId}/events`, {
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
    });
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    return { status: response.status, body: (await response.json()) as EventsAnswer['body'] };
  }

  const received = (participant: TestParticipant): SessionEvent[] => participant.notifications('sessionEvent');
  const storyOf = (events: SessionEvent[]): string[] => events.filter((event) => event.kind !== 'quality').map(label);

  it('a join, a dropped connection and its resume, ICE restarts and the leave: in order to the participant and the operator, kept after the room closed, then gone', async () => {
    const roomId = cast.newRoom('timeline');
    const ana = await cast.arrive('Ana');
    await ana.join(roomId);
    unwrap(await ana.request('restartIce', { transportId: ana.sendTransportId }));
    await ana.waitFor('sessionEvent', (event) => event.kind === 'iceRestart');
    // Events follow the join answer, never precede it.
    expect(ana.indexOf('sessionEvent')).toBeGreaterThan(ana.ackIndex('join'));

    const during = await eventsOf(roomId, ana.id);
    expect(during.status).toBe(200);
    expect(during.body.participant).toEqual({ id: ana.id, displayName: 'Ana', roomId, joinedAt: expect.any(Number), leftAt: null });
    expect(storyOf(during.body.events!)).toEqual(['joined', 'signalling:connected', 'iceRestart:send']);
    expect(during.body.events![0]).toMatchObject({ kind: 'joined', roomId, role: 'host' });

    // The network goes; the server notices and keeps her place.
    await ana.dropConnection();
    await eventually(async () => storyOf((await eventsOf(roomId, ana.id)).body.events!).includes('signalling:dropped'), { what: 'the drop in the log' });
    const back = await cast.arrive('Ana (again)');
    unwrap(await back.resume(ana), 'resume');
    // What happened while she was away follows the resume answer.
    await back.waitFor('sessionEvent', (event) => event.kind === 'signalling' && event.state === 'resumed');
    expect(back.indexOf('sessionEvent')).toBeGreaterThan(back.ackIndex('resume'));
    unwrap(await back.request('restartIce', { transportId: back.recvTransportId }));
    await back.leave();
    await back.waitFor('sessionEvent', (event) => event.kind === 'left');

    const expected = ['joined', 'signalling:connected', 'iceRestart:send', 'signalling:dropped', 'signalling:resumed', 'iceRestart:recv', 'left:left'];
    const after = await eventsOf(roomId, ana.id);
    expect(after.status).toBe(200);
    expect(storyOf(after.body.events!)).toEqual(expected);
    // The participant was told the same events, each once, across both connections.
    expect(storyOf([...received(ana), ...received(back)])).toEqual(expected);
    const times = after.body.events!.map((event) => event.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(after.body.participant!.leftAt).toBeGreaterThanOrEqual(after.body.participant!.joinedAt);

    // She was alone: her room is gone, her log is not — until the retention time passes.
    await eventually(async () => (await fetch(`${server.url}/api/v1/rooms/${roomId}`, { headers: { authorization: `Bearer ${KEY}` } })).status === 404, {
      what: 'the room to close',
    });
    expect((await eventsOf(roomId, ana.id)).status).toBe(200);
    await eventually(async () => (await eventsOf(roomId, ana.id)).status === 404, { what: 'the log to expire', timeoutMs: RETAIN_SECONDS * 1000 + 5000 });
    expect((await eventsOf(roomId, ana.id)).body).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });
  });

  it('keeps the newest events when there are too many, and still tells the participant each', async () => {
    const roomId = cast.newRoom('ring');
    const ben = await cast.arrive('Ben');
    await ben.join(roomId);
    const restarts = SESSION_EVENTS_MAX + 20;
    for (let i = 0; i < restarts; i++) unwrap(await ben.request('restartIce', { transportId: ben.sendTransportId }));
    await eventually(() => received(ben).filter((event) => event.kind === 'iceRestart').length === restarts, { what: 'every iceRestart event' });
    const { body } = await eventsOf(roomId, ben.id);
    expect(body.events).toHaveLength(SESSION_EVENTS_MAX);
    // The oldest (the join) went first; the newest is the last restart.
    expect(body.events!.some((event) => event.kind === 'joined')).toBe(false);
    expect(body.events!.at(-1)).toEqual(
      received(ben)
        .filter((event) => event.kind === 'iceRestart')
        .at(-1),
    );
    // Once Ben has left, his log keeps only its newest events, the leave last.
    const benId = ben.id;
    await ben.leave();
    const kept = (await eventsOf(roomId, benId)).body.events!;
    expect(kept).toHaveLength(RETAINED_EVENTS_MAX);
    expect(kept.at(-1)).toMatchObject({ kind: 'left', reason: 'left' });
  });

  it('records a move to another media worker before the participant is told to reconnect its media', async () => {
    const roomId = cast.newRoom('moved');
    const cy = await cast.arrive('Cy');
    await cy.join(roomId);
    const room = (await server.rooms.list()).find((candidate) => candidate.id === roomId)!;
    process.kill(room.host.worker.pid, 'SIGKILL');
    await cy.waitFor('mediaReset', () => true, 20_000);
    const moved = cy.indexOf('sessionEvent', (event) => event.kind === 'workerMoved');
    expect(moved).toBeGreaterThan(-1);
    expect(moved).toBeLessThan(cy.indexOf('mediaReset'));
    expect((await eventsOf(roomId, cy.id)).body.events!.find((event) => event.kind === 'workerMoved')).toMatchObject({
      fromWorker: expect.any(Number),
      toWorker: expect.any(Number),
    });
    await eventually(async () => (await server.health()).workers.alive === 2, { what: 'the worker replaced' });
  });

  it('answers bad and unknown ids with the API’s errors, and needs the key', async () => {
    const roomId = cast.newRoom('ids');
    const dee = await cast.arrive('Dee');
    await dee.join(roomId);
    expect(await eventsOf(roomId, dee.id, null)).toMatchObject({ status: 401, body: { code: 'NOT_AUTHORIZED' } });
    expect(await eventsOf(roomId, dee.id, `${KEY}x`)).toMatchObject({ status: 401 });
    expect(await eventsOf('other-room', dee.id)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await eventsOf(roomId, crypto.randomUUID())).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await eventsOf(roomId, 'not-a-participant-id')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await eventsOf('%20bad%20room', dee.id)).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await eventsOf(roomId, '%00%ff')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', message: expect.stringMatching(/percent-encoded/) } });
    expect((await eventsOf(roomId, dee.id)).status).toBe(200);
    expect((await server.health()).status).toBe('ok');
  });

  describe('with a browser (real ICE and DTLS)', () => {
    let browser: Browser | undefined;

    afterAll(async () => {
      await browser?.close();
    });

    it('records each transport’s ICE and DTLS states and its UDP route, again after a worker move', async () => {
      browser = await launchChromium();
      const roomId = cast.newRoom('media');
      const eve = await openParticipant(browser, server.url, roomId, 'Eve');
      try {
        const peerId = (await eve.state()).self?.id;
        expect(peerId).toEqual(expect.any(String));
        let entries: string[] = [];
        const story = async (): Promise<string[]> => (await eventsOf(roomId, peerId!)).body.events!.map(label);
        /** ICE up, DTLS through connecting to connected, and a UDP route, for `direction` after `from` in the story. */
        const mediaUp = (entries: string[], direction: 'send' | 'recv', from = 0): boolean => {
          const after = entries.slice(from);
          const at = (entry: string): number => after.indexOf(entry);
          return (
            after.some((entry) => entry === `ice:${direction}:connected` || entry === `ice:${direction}:completed`) &&
            at(`dtls:${direction}:connecting`) > -1 &&
            at(`dtls:${direction}:connected`) > at(`dtls:${direction}:connecting`) &&
            at(`route:${direction}:udp`) > -1
          );
        };
        await eventually(
          async () => {
            entries = await story();
            return mediaUp(entries, 'send') && mediaUp(entries, 'recv');
          },
          {
            what: 'both transports connected over UDP',
            timeoutMs: 30_000,
          },
        );
        const route = (await eventsOf(roomId, peerId!)).body.events!.find((event) => event.kind === 'route');
        expect(route).toMatchObject({ protocol: 'udp', remote: expect.stringMatching(/^(\d{1,3}\.){3}\d{1,3}:\d+$/) });

        // Fay receives Eve's camera: its spatial layer switches are recorded in Fay's log, with why, and no repeats.
        const fay = await openParticipant(browser, server.url, roomId, 'Fay');
        const fayId = (await fay.state()).self!.id;
        const layers = await eventually(
          async () => {
            const events = (await eventsOf(roomId, fayId)).body.events!.filter((event) => event.kind === 'layers');
            return events.some((event) => event.spatialLayer !== null) ? events : undefined;
          },
          { what: 'Fay’s first layer switch', timeoutMs: 30_000 },
        );
        expect(layers[0]).toMatchObject({ peerId, source: 'camera', spatialLayer: expect.any(Number), reason: 'wish' });
        for (const [i, event] of layers.entries()) {
          expect(['link', 'wish', 'network']).toContain(event.reason);
          if (i > 0) expect(event.spatialLayer).not.toBe(layers[i - 1]!.spatialLayer);
        }
        await leaveAndClose(fay);

        // The worker dies: the room moves, and the new transports connect and are watched the same way.
        const room = (await server.rooms.list()).find((candidate) => candidate.id === roomId)!;
        process.kill(room.host.worker.pid, 'SIGKILL');
        await eventually(
          async () => {
            entries = await story();
            const moved = entries.indexOf('workerMoved');
            return moved > -1 && mediaUp(entries, 'send', moved);
          },
          { what: 'the media connected again after the move', timeoutMs: 40_000 },
        );
        await eventually(async () => (await server.health()).workers.alive === 2, { what: 'the worker replaced' });
      } finally {
        await leaveAndClose(eve);
      }
    });
  });
});

/** The store itself: how many left participants' logs it keeps, and for how long. */
describe('the session event store', () => {
  it('keeps at most so many left participants’ logs (the oldest go first), each for the retention time', async () => {
    const store = new SessionEvents({ retainMs: 300, maxRetained: 2, maxEvents: 3 });
    const logs = ['a', 'b', 'c'].map((id) => store.open({ id, displayName: id, roomId: 'r', joinedAt: Date.now() }));
    for (let i = 0; i < 5; i++) logs[0]!.record({ kind: 'iceRestart', transport: 'send' });
    expect(logs[0]!.describe().events).toHaveLength(3);
    expect(logs[0]!.recorded).toBe(5);
    for (const log of logs) log.close('left');
    expect(store.find('a')).toBeUndefined();
    expect(store.find('b')?.describe().events.at(-1)).toMatchObject({ kind: 'left', reason: 'left' });
    expect(store.find('c')?.leftAt).toEqual(expect.any(Number));
    // Nothing is recorded after the leave.
    expect(logs[2]!.record({ kind: 'quality', quality: 'good' })).toBe(false);
    await eventually(() => store.find('b') === undefined && store.find('c') === undefined, { what: 'the logs to expire', timeoutMs: 5000 });
  });
});
