import { afterAll, afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { io } from 'socket.io-client';
import type { Result } from '../shared/errors.js';
import type { ConsumerInfo } from '../shared/protocol.js';
import { failureOf, fakeDtlsParameters, TestParticipant, unwrap } from './helpers/participant.js';
import { eventually, isAlive, startTestServer, useServer } from './helpers/server.js';

/**
 * The server's limits as participants meet them: room and server capacity, the per-connection
 * request budget, the message size cap, the Origin check, cross-room isolation and a graceful
 * shutdown. Real Socket.IO clients against real servers with real mediasoup workers.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A server with `overrides` for the enclosing describe; participants are closed after each test,
 * and with `emptyAfterEach` the server must then be back to no rooms.
 */
function serverFor(overrides: Record<string, string>, { emptyAfterEach = false } = {}) {
  const server = useServer(overrides);
  const everyone: TestParticipant[] = [];

  afterEach(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
    if (emptyAfterEach) {
      await eventually(async () => (await server.health()).rooms === 0, { what: 'every room to close after the test' });
    }
  });

  afterAll(async () => {
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
  });

  return {
    server,
    async arrive(name: string): Promise<TestParticipant> {
      const participant = await TestParticipant.connect(server.url, name);
      everyone.push(participant);
      return participant;
    },
  };
}

/** The answer to a join request (rather than throwing on failure like TestParticipant.join). */
function tryJoin(participant: TestParticipant, roomId: string): Promise<Result<unknown>> {
  return participant.request('join', { roomId, displayName: participant.name, rtpCapabilities: participant.joinCapabilities() });
}

/** Resolves with the disconnect reason, or 'still connected' after `ms`. */
function disconnectedWithin(participant: TestParticipant, ms: number): Promise<string> {
  return Promise.race([participant.disconnected, sleep(ms).then(() => 'still connected')]);
}

describe('room and server capacity (MAX_PEERS_PER_ROOM=2, MAX_ROOMS=1)', () => {
  const env = serverFor({ MAX_PEERS_PER_ROOM: '2', MAX_ROOMS: '1' }, { emptyAfterEach: true });

  it('the third participant gets ROOM_FULL; once someone leaves, a newcomer gets in', async () => {
    const ana = await env.arrive('Ana');
    const ben = await env.arrive('Ben');
    const cy = await env.arrive('Cy');
    await ana.join('full');
    await ben.join('full');

    const refused = failureOf(await tryJoin(cy, 'full'));
    expect(refused.code).toBe('ROOM_FULL');
    expect(refused.message).toContain('2');
    const room = (await env.server.rooms.list()).find((candidate) => candidate.id === 'full');
    expect(room?.peers.size).toBe(2);
    // Nobody was told about someone who never got in.
    await sleep(100);
    expect(ana.notifications('participantJoined').map((info) => info.id)).toEqual([ben.id]);
    expect(ben.notifications('participantJoined')).toEqual([]);
    expect(cy.connected).toBe(true);

    // Ben leaves: the same refused connection may now join.
    const benId = ben.id;
    await ben.leave();
    await ana.waitFor('participantLeft', (event) => event.peerId === benId);
    const cyJoin = await cy.join('full');
    expect(cyJoin.participants.map((info) => info.id)).toEqual([ana.id]);
    expect(room?.peers.size).toBe(2);
    await ana.waitFor('participantJoined', (info) => info.id === cy.id);

    // A dropped (disconnected) participant frees the seat as well.
    const dan = await env.arrive('Dan');
    expect(failureOf(await tryJoin(dan, 'full')).code).toBe('ROOM_FULL');
    const cyId = cy.id;
    await cy.close();
    await ana.waitFor('participantLeft', (event) => event.peerId === cyId);
    await dan.join('full');
    expect([...(room?.peers.keys() ?? [])].sort()).toEqual([ana.id, dan.id].sort());
  });

  it('a second room is TOO_MANY_ROOMS until the first one empties and closes', async () => {
    const ana = await env.arrive('Ana');
    const ben = await env.arrive('Ben');
    await ana.join('first');

    const refused = failureOf(await tryJoin(ben, 'second'));
    expect(refused.code).toBe('TOO_MANY_ROOMS');
    expect(refused.message).not.toBe('');
    expect((await env.server.rooms.list()).map((room) => room.id)).toEqual(['first']);
    // The existing room is still open to newcomers.
    await ben.join('first');
    expect((await env.server.health()).rooms).toBe(1);
    await ben.leave();

    // The first room empties and closes; now the second can be created.
    await ana.leave();
    await eventually(async () => (await env.server.health()).rooms === 0, { what: 'the first room to close' });
    const second = await ben.join('second');
    expect(second.roomId).toBe('second');
    expect((await env.server.rooms.list()).map((room) => room.id)).toEqual(['second']);
    // And with it the first is now the one refused.
    expect(failureOf(await tryJoin(ana, 'first')).code).toBe('TOO_MANY_ROOMS');
  });
});

describe('request rate limit (RATE_LIMIT_PER_SECOND=20, RATE_LIMIT_BURST=40)', () => {
  const env = serverFor({ RATE_LIMIT_PER_SECOND: '20', RATE_LIMIT_BURST: '40' });

  it('a flooding connection is RATE_LIMITED while another in the same room is served, and recovers after a pause', async () => {
    // Each connection's budget refills by the process clock (performance.now): it runs on as usual,
    // and the test moves it on for the pause instead of sleeping through it.
    vi.useFakeTimers({ toFake: ['performance'], shouldAdvanceTime: true });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const ana = await env.arrive('Ana');
    const flood = await env.arrive('Flood');
    await ana.join('busy');
    await flood.join('busy');
    const micId = await ana.produce('mic');

    // Flood: 300 requests in bursts of 30 every 100 ms (about 300/s, fifteen times the budget),
    // while Ana mutes and unmutes her microphone at a normal pace (5/s).
    const floodStarted = performance.now();
    let floodMs = 0;
    const flooding = (async () => {
      const answers: Promise<Result<unknown>>[] = [];
      for (let burst = 0; burst < 10; burst += 1) {
        for (let i = 0; i < 30; i += 1) answers.push(flood.request('resumeConsumer', { consumerId: `no-such-consumer-${burst}-${i}` }));
        await sleep(100);
      }
      const settled = await Promise.all(answers);
      floodMs = performance.now() - floodStarted;
      return settled;
    })();
    const anaAnswers: Result<unknown>[] = [];
    for (let i = 0; i < 6; i += 1) {
      anaAnswers.push(await ana.request('setProducerPaused', { producerId: micId, paused: i % 2 === 0 }));
      await sleep(200);
    }
    const floodAnswers = await flooding;

    const codes = floodAnswers.map((answer) => failureOf(answer).code);
    const limited = codes.filter((code) => code === 'RATE_LIMITED').length;
    const served = codes.filter((code) => code === 'NOT_FOUND').length;
    expect(limited + served).toBe(300);
    // The burst (40) plus 20/s for as long as the flood lasted (about a second; longer on a loaded machine).
    expect(served).toBeGreaterThanOrEqual(40);
    expect(served).toBeLessThanOrEqual(40 + Math.ceil((20 * floodMs) / 1000) + 2);
    expect(limited).toBeGreaterThanOrEqual(300 - 40 - Math.ceil((20 * floodMs) / 1000) - 2);
    const limitedAnswer = floodAnswers.find((answer) => !answer.ok && answer.error.code === 'RATE_LIMITED');
    expect(limitedAnswer && failureOf(limitedAnswer).message).toMatch(/slow down/i);
    // The budget is spent first: the first 40 were all served.
    expect(codes.slice(0, 40).every((code) => code === 'NOT_FOUND')).toBe(true);

    // Ana was never limited, and her requests took effect.
    expect(anaAnswers.map((answer) => answer.ok)).toEqual([true, true, true, true, true, true]);
    const room = (await env.server.rooms.list()).find((candidate) => candidate.id === 'busy');
    expect(room?.peers.get(ana.id)?.producers.get(micId)?.paused).toBe(false);
    // The flooder sees Ana's last mute and unmute like everybody else.
    await flood.waitFor('consumerResumed');
    expect(flood.connected).toBe(true);

    // After a pause the budget is back.
    vi.advanceTimersByTime(2_100);
    const again = await Promise.all(Array.from({ length: 20 }, () => flood.request('resumeConsumer', { consumerId: 'no-such-consumer' })));
    expect(again.map((answer) => failureOf(answer).code)).toEqual(Array.from({ length: 20 }, () => 'NOT_FOUND'));
  });

  it('unknown events spend from the same budget', async () => {
    const eve = await env.arrive('Eve');
    // 45 unknown events and then 5 real requests, all at once: the burst of 40 runs out on the unknown ones.
    const unknown = Array.from({ length: 45 }, (_, i) => eve.rawRequest(`noSuchRequest${i}`, [{ i }]));
    const real = Array.from({ length: 5 }, () => eve.request('restartIce', { transportId: 'some-transport' }));
    const unknownCodes = (await Promise.all(unknown)).map((answer) => failureOf(answer).code);
    const realCodes = (await Promise.all(real)).map((answer) => failureOf(answer).code);

    expect(unknownCodes.slice(0, 40)).toEqual(Array.from({ length: 40 }, () => 'BAD_REQUEST'));
    expect(unknownCodes.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(3);
    // Had unknown events been free, these would all be NOT_JOINED.
    expect(realCodes.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(4);
    expect(realCodes.every((code) => code === 'RATE_LIMITED' || code === 'NOT_JOINED')).toBe(true);
    expect(eve.connected).toBe(true);

    // Another connection has its own budget.
    const other = await env.arrive('Other');
    expect(failureOf(await other.rawRequest('noSuchRequest', [])).code).toBe('BAD_REQUEST');
  });
});

describe('message size, Origin check and cross-room isolation (MAX_MESSAGE_KB=64, CORS_ORIGINS)', () => {
  const allowed = 'https://meet.example.org';
  const env = serverFor({ MAX_MESSAGE_KB: '64', CORS_ORIGINS: allowed });

  it('a message over MAX_MESSAGE_KB closes only that connection; the others and the server carry on', async () => {
    const ana = await env.arrive('Ana');
    const ben = await env.arrive('Ben');
    await ana.join('sizes');
    await ben.join('sizes');
    const micId = await ana.produce('mic');
    await ben.waitFor('newConsumer', (consumer) => consumer.producerId === micId);

    // Just under the limit: an ordinary validation error, and the connection stays.
    const mallory = await env.arrive('Mallory');
    const under = failureOf(
      await mallory.request('join', { roomId: 'sizes', displayName: 'M'.repeat(60 * 1024), rtpCapabilities: mallory.joinCapabilities() }),
    );
    expect(under.code).toBe('BAD_REQUEST');
    expect(mallory.connected).toBe(true);

    // Over it: the server closes the connection.
    mallory.rawEmit('join', { roomId: 'sizes', displayName: 'M'.repeat(100 * 1024), rtpCapabilities: mallory.joinCapabilities() });
    expect(await disconnectedWithin(mallory, 5_000)).not.toBe('still connected');

    expect(ana.connected).toBe(true);
    expect(ben.connected).toBe(true);
    const health = await env.server.health();
    expect(health).toMatchObject({ status: 'ok', rooms: 1, peers: 2 });
    const response = await fetch(`${env.server.url}/healthz`);
    expect(response.status).toBe(200);
    // Requests on the other connections still work, and Mallory never joined.
    unwrap(await ana.request('setProducerPaused', { producerId: micId, paused: true }));
    await ben.waitFor('consumerPaused');
    expect(ana.notifications('participantJoined').map((info) => info.id)).toEqual([ben.id]);
    const newcomer = await env.arrive('Newcomer');
    await newcomer.join('sizes');
  });

  /** 'connected', or why not: 'timeout' or the connect_error. */
  function connectWith(headers: Record<string, string>): Promise<string> {
    const socket = io(env.server.url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: headers });
    return new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 5_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve('connected');
      });
      socket.once('connect_error', (error) => {
        clearTimeout(timer);
        resolve(`connect_error: ${error.message}`);
      });
    }).finally(() => socket.close());
  }

  it('with CORS_ORIGINS, a foreign Origin is refused; a listed one, the server’s own and none connect', async () => {
    expect(await connectWith({ Origin: 'https://evil.example' })).toMatch(/^connect_error/);
    expect(await connectWith({ Origin: 'https://meet.example.org.evil.example' })).toMatch(/^connect_error/);
    expect(await connectWith({ Origin: 'null' })).toMatch(/^connect_error/);
    expect(await connectWith({ Origin: allowed })).toBe('connected');
    expect(await connectWith({ Origin: new URL(env.server.url).origin })).toBe('connected');
    expect(await connectWith({})).toBe('connected');

    // HTTP long-polling is checked too, with the CORS header only for the listed origin.
    const evil = await fetch(`${env.server.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    const good = await fetch(`${env.server.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: allowed } });
    expect(good.status).toBe(200);
    expect(good.headers.get('access-control-allow-origin')).toBe(allowed);
  });

  it('ids from another room are NOT_FOUND: resumeConsumer, setProducerPaused, connectTransport and the rest', async () => {
    const ana = await env.arrive('Ana');
    const ben = await env.arrive('Ben');
    const cy = await env.arrive('Cy');
    await ana.join('room-a');
    await ben.join('room-b');
    await cy.join('room-b');
    const benMic = await ben.produce('mic');
    const cyConsumer: ConsumerInfo = await cy.waitFor('newConsumer', (consumer) => consumer.producerId === benMic);

    const answers = {
      resumeConsumer: await ana.request('resumeConsumer', { consumerId: cyConsumer.id }),
      setProducerPaused: await ana.request('setProducerPaused', { producerId: benMic, paused: true }),
      connectTransport: await ana.request('connectTransport', { transportId: cy.recvTransportId, dtlsParameters: fakeDtlsParameters() }),
      connectTransportSend: await ana.request('connectTransport', { transportId: cy.sendTransportId, dtlsParameters: fakeDtlsParameters() }),
      closeProducer: await ana.request('closeProducer', { producerId: benMic }),
      restartIce: await ana.request('restartIce', { transportId: ben.recvTransportId }),
      produce: await ana.request('produce', ana.produceRequest('camera', { transportId: ben.sendTransportId })),
    };
    for (const [name, answer] of Object.entries(answers)) expect(failureOf(answer).code, name).toBe('NOT_FOUND');

    // Room B is untouched: Ben's mic plays, Cy's consumer is still paused, Cy's transports connect.
    const roomB = (await env.server.rooms.list()).find((room) => room.id === 'room-b');
    expect(roomB?.peers.get(ben.id)?.producers.get(benMic)?.paused).toBe(false);
    expect(roomB?.peers.get(cy.id)?.consumers.get(cyConsumer.id)?.paused).toBe(true);
    unwrap(await cy.request('connectTransport', { transportId: cy.recvTransportId, dtlsParameters: fakeDtlsParameters() }));
    unwrap(await cy.request('resumeConsumer', { consumerId: cyConsumer.id }));
    expect(roomB?.peers.get(cy.id)?.consumers.get(cyConsumer.id)?.paused).toBe(false);
    expect(cy.notifications('consumerPaused')).toEqual([]);
    expect(cy.notifications('consumerClosed')).toEqual([]);
  });
});

describe('graceful shutdown', () => {
  it('tells everyone, disconnects them, refuses joins and leaves no worker process', async () => {
    const server = await startTestServer();
    const people: TestParticipant[] = [];
    try {
      for (const name of ['Ana', 'Ben', 'Lobby']) people.push(await TestParticipant.connect(server.url, name));
      const [ana, ben, lobby] = people as [TestParticipant, TestParticipant, TestParticipant];
      await ana.join('last-call');
      await ben.join('last-call');
      await ana.produce('mic');
      const pids = server.pool.workerPids();
      expect(pids.length).toBeGreaterThan(0);
      expect(pids.every(isAlive)).toBe(true);

      const closing = server.close();
      // A join attempted while the server drains.
      const lateJoin = tryJoin(lobby, 'last-call').then(
        (result) => ({ answered: result }),
        (error: unknown) => ({ rejected: String(error) }),
      );

      for (const participant of [ana, ben]) {
        // The server closes the connection (the Socket.IO disconnect packet may be cut off by the
        // engine closing in the same tick, so the client may see either reason).
        expect(await disconnectedWithin(participant, 5_000)).toMatch(/^(io server disconnect|transport close)$/);
        // serverShutdown came before the disconnect (nothing arrives after it).
        const notice = participant.notifications('serverShutdown');
        expect(notice).toHaveLength(1);
        expect(notice[0]?.message).not.toBe('');
      }
      const late = await lateJoin;
      if ('answered' in late) {
        expect(failureOf(late.answered).code).toBe('SHUTTING_DOWN');
      } else {
        // The connection was closed before the join was served: it got no place anywhere.
        expect(await disconnectedWithin(lobby, 5_000)).toMatch(/^(io server disconnect|transport close)$/);
        expect(lobby.joined).toBeUndefined();
      }
      await closing;

      // Nothing accepts new connections, and the workers are gone.
      await expect(TestParticipant.connect(server.url, 'TooLate', 3_000)).rejects.toThrow(/could not connect|no welcome/);
      await eventually(() => pids.every((pid) => !isAlive(pid)), { what: 'every mediasoup-worker to exit' });
      expect(await server.rooms.list()).toEqual([]);
    } finally {
      await Promise.all(people.map((participant) => participant.close()));
      await server.close();
    }
  });
});
