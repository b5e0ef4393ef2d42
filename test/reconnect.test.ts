// Over ~350 lines on purpose: every case of a dropped connection within the grace period, over one
// server fixture.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LEAVE_BEACON_PATH, type ConsumerInfo } from '../shared/protocol.js';
import type { Peer } from '../server/src/rooms/Peer.js';
import type { Room } from '../server/src/rooms/Room.js';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { Cast } from './helpers/cast.js';
import { eventually, startTestServer, useServer } from './helpers/server.js';

/**
 * A dropped connection keeps its place for RECONNECT_GRACE_SECONDS (3 here): the others see it as
 * reconnecting, its notifications queue, and a new connection with the resume token takes the place
 * back. Signalling level: real Socket.IO clients against a real server, no browser.
 */

const GRACE_MS = 3_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const fromProducer = (producerId: string) => (consumer: ConsumerInfo) => consumer.producerId === producerId;

describe('reconnecting within the grace period (RECONNECT_GRACE_SECONDS=3)', () => {
  const server = useServer({ RECONNECT_GRACE_SECONDS: String(GRACE_MS / 1000), RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '100000' });
  const cast = new Cast(server);

  afterEach(async () => {
    await cast.dismiss();
    // Places of dropped connections are given up at the latest after the grace period.
    await eventually(async () => (await server.health()).rooms === 0, { what: 'the server to be empty after the test', timeoutMs: GRACE_MS + 5_000 });
  });

  afterAll(async () => {
    await cast.dismiss();
  });

  async function roomOnServer(roomId: string): Promise<Room | undefined> {
    return (await server.rooms.list()).find((room) => room.id === roomId);
  }

  async function peerOnServer(roomId: string, peerId: string): Promise<Peer> {
    const peer = (await roomOnServer(roomId))?.peers.get(peerId);
    if (!peer) throw new Error(`no peer ${peerId} in room ${roomId} on the server`);
    return peer;
  }

  /** Ana and Ben in a fresh room, each publishing a microphone, each consuming the other's. */
  async function pair(label: string) {
    const roomId = cast.newRoom(label);
    const ana = await cast.arrive('Ana');
    const ben = await cast.arrive('Ben');
    await ana.join(roomId);
    await ben.join(roomId);
    const anaMic = await ana.produce('mic');
    const benMic = await ben.produce('mic');
    const benHearsAna = await ben.waitFor('newConsumer', fromProducer(anaMic));
    const anaHearsBen = await ana.waitFor('newConsumer', fromProducer(benMic));
    return { roomId, ana, ben, anaMic, benMic, benHearsAna, anaHearsBen };
  }

  it('a dropped participant keeps its place; on resume it gets what happened meanwhile, in order, after the answer', async () => {
    const { roomId, ana, ben, anaMic, benMic, benHearsAna } = await pair('drop');
    const benId = ben.id;
    const benConsumersBefore = [...(await peerOnServer(roomId, benId)).consumers.keys()];
    expect(benConsumersBefore).toEqual([benHearsAna.id]);

    // Ben's network goes away: no leave, no Socket.IO disconnect packet.
    // (The client closed the engine itself: 'forced close', and it does not reconnect on its own.)
    expect(await ben.dropConnection()).toBe('forced close');
    const away = await ana.waitFor('participantConnection', (event) => event.peerId === benId);
    expect(away).toEqual({ peerId: benId, reconnecting: true });
    expect((await peerOnServer(roomId, benId)).session.connected).toBe(false);

    // Meanwhile Ana shares her screen and mutes.
    const anaScreen = await ana.produce('screen');
    // The screen consumer for Ben exists (queued for him) before the mute, so the order is fixed.
    await eventually(async () => [...(await peerOnServer(roomId, benId)).consumers.values()].some((consumer) => consumer.producerId === anaScreen), {
      what: 'a consumer of the screen for Ben',
    });
    unwrap(await ana.request('setProducerPaused', { producerId: anaMic, paused: true }));
    // A newcomer sees Ben as reconnecting.
    const cy = await cast.arrive('Cy');
    const cyJoin = await cy.join(roomId);
    expect(cyJoin.participants.find((info) => info.id === benId)?.reconnecting).toBe(true);
    expect(cyJoin.participants.find((info) => info.id === ana.id)?.reconnecting).toBe(false);

    // Ben comes back on a new connection.
    const ben2 = await cast.arrive('Ben (again)');
    unwrap(await ben2.resume(ben), 'resume');
    const screen = await ben2.waitFor('newConsumer', fromProducer(anaScreen));
    const paused = await ben2.waitFor('consumerPaused', (event) => event.consumerId === benHearsAna.id);
    expect(paused).toEqual({ consumerId: benHearsAna.id });
    expect(screen).toMatchObject({ peerId: ana.id, source: 'screen', kind: 'video' });
    // The answer first, then the queued notifications in the order they happened.
    const resumeAck = ben2.ackIndex('resume');
    const screenAt = ben2.indexOf('newConsumer', fromProducer(anaScreen));
    const pausedAt = ben2.indexOf('consumerPaused', (event) => event.consumerId === benHearsAna.id);
    const cyJoinedAt = ben2.indexOf('participantJoined', (info) => info.id === cy.id);
    expect(resumeAck).toBeGreaterThan(-1);
    expect(screenAt).toBeGreaterThan(resumeAck);
    expect(pausedAt).toBeGreaterThan(screenAt);
    expect(cyJoinedAt).toBeGreaterThan(pausedAt);
    // Each exactly once.
    expect(ben2.notifications('newConsumer').filter(fromProducer(anaScreen))).toHaveLength(1);
    expect(ben2.notifications('consumerPaused')).toHaveLength(1);
    // The old connection got none of it.
    expect(ben.indexOf('newConsumer', fromProducer(anaScreen))).toBe(-1);

    // Ana and Cy see Ben back; nobody saw him leave.
    const back = await ana.waitFor('participantConnection', (event) => event.peerId === benId && !event.reconnecting);
    expect(back).toEqual({ peerId: benId, reconnecting: false });
    await cy.waitFor('participantConnection', (event) => event.peerId === benId && !event.reconnecting);
    expect(ana.notifications('participantLeft')).toEqual([]);
    expect(ana.notifications('consumerClosed')).toEqual([]);

    // One Ben on the server, same id, same consumers plus the screen, still publishing his mic.
    const room = await roomOnServer(roomId);
    expect(room?.peers.size).toBe(3);
    expect([...(room?.peers.values() ?? [])].filter((peer) => peer.displayName === 'Ben')).toHaveLength(1);
    const benPeer = await peerOnServer(roomId, benId);
    expect(benPeer.session.connected).toBe(true);
    expect([...benPeer.consumers.keys()].sort()).toEqual([benHearsAna.id, screen.id].sort());
    expect([...benPeer.producers.keys()]).toEqual([benMic]);
    expect(benPeer.info.reconnecting).toBe(false);

    // The resumed connection acts as Ben: his consumer resumes, and new notifications go to it.
    unwrap(await ben2.request('resumeConsumer', { consumerId: screen.id }));
    expect(benPeer.consumers.get(screen.id)?.paused).toBe(false);
    unwrap(await ana.request('setProducerPaused', { producerId: anaMic, paused: false }));
    await ben2.waitFor('consumerResumed', (event) => event.consumerId === benHearsAna.id);
    const benCamera = await ben2.produce('camera');
    await ana.waitFor('newConsumer', fromProducer(benCamera));
  });

  it('resume is refused with a wrong token, for an unknown peer, and on a connection that already joined', async () => {
    const { roomId, ana, ben } = await pair('refusals');
    const benId = ben.id;
    await ben.dropConnection();
    await ana.waitFor('participantConnection', (event) => event.peerId === benId && event.reconnecting);

    const mallory = await cast.arrive('Mallory');
    const wrongToken = failureOf(await mallory.resume(ben, 'not-the-token'));
    expect(wrongToken.code).toBe('RESUME_FAILED');
    expect(wrongToken.message).not.toBe('');
    const token = ben.joined?.resumeToken ?? '';
    const almost = failureOf(await mallory.resume(ben, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`));
    expect(almost.code).toBe('RESUME_FAILED');
    const unknown = failureOf(await mallory.request('resume', { peerId: 'no-such-peer', resumeToken: token }));
    expect(unknown.code).toBe('RESUME_FAILED');
    // Ana's own id with Ben's token is no better.
    expect(failureOf(await mallory.request('resume', { peerId: ana.id, resumeToken: token })).code).toBe('RESUME_FAILED');
    // Failed attempts leave Mallory in the lobby and Ben's place alone.
    expect(failureOf(await mallory.request('restartIce', { transportId: ben.sendTransportId })).code).toBe('NOT_JOINED');
    expect((await peerOnServer(roomId, benId)).session.connected).toBe(false);

    // A connection that joined a room cannot also take a place.
    const cy = await cast.arrive('Cy');
    await cy.join(cast.newRoom('elsewhere'));
    const already = failureOf(await cy.resume(ben));
    expect(already.code).toBe('ALREADY_JOINED');
    // Not even its own.
    expect(failureOf(await cy.request('resume', { peerId: cy.id, resumeToken: cy.joined?.resumeToken ?? '' })).code).toBe('ALREADY_JOINED');

    // After all that, Ben's own token still works.
    const ben2 = await cast.arrive('Ben (again)');
    unwrap(await ben2.resume(ben), 'resume');
    await ana.waitFor('participantConnection', (event) => event.peerId === benId && !event.reconnecting);
    expect(ana.notifications('participantLeft')).toEqual([]);
    // And a resumed connection, being joined, cannot resume again.
    expect(failureOf(await ben2.resume(ben)).code).toBe('ALREADY_JOINED');
  });

  it('a place can be dropped and taken back more than once', async () => {
    const { roomId, ana, ben, benHearsAna } = await pair('again');
    const benId = ben.id;
    let current = ben;
    for (const round of [1, 2, 3]) {
      await current.dropConnection();
      await eventually(() => ana.notifications('participantConnection').filter((event) => event.reconnecting).length === round, {
        what: `Ana to see Ben reconnecting (${round})`,
      });
      const next = await cast.arrive(`Ben (${round})`);
      unwrap(await next.resume(current), `resume ${round}`);
      await eventually(() => ana.notifications('participantConnection').filter((event) => !event.reconnecting).length === round, {
        what: `Ana to see Ben back (${round})`,
      });
      current = next;
    }
    expect(ana.notifications('participantConnection')).toEqual(
      [1, 2, 3].flatMap(() => [
        { peerId: benId, reconnecting: true },
        { peerId: benId, reconnecting: false },
      ]),
    );
    expect(ana.notifications('participantLeft')).toEqual([]);
    const benPeer = await peerOnServer(roomId, benId);
    expect([...benPeer.consumers.keys()]).toEqual([benHearsAna.id]);
    unwrap(await current.request('resumeConsumer', { consumerId: benHearsAna.id }));
    expect(benPeer.consumers.get(benHearsAna.id)?.paused).toBe(false);
  });

  it('if more happened meanwhile than the server keeps (2000 notifications), resume fails and the place is given up', async () => {
    // A long grace period here, so only the overflow can end Ben's place, however slow the machine.
    const own = await startTestServer({ RECONNECT_GRACE_SECONDS: '60', RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '100000' });
    try {
      const roomId = 'overflow';
      const [ana, ben, cy] = [await cast.arrive('Ana', own), await cast.arrive('Ben', own), await cast.arrive('Cy', own)];
      for (const participant of [ana, ben, cy]) await participant.join(roomId);
      const tracks: [TestParticipant, string][] = [];
      for (const source of ['mic', 'camera', 'screen'] as const) tracks.push([ana, await ana.produce(source)]);
      for (const source of ['mic', 'camera'] as const) tracks.push([cy, await cy.produce(source)]);
      const benPeer = (await own.rooms.list()).find((room) => room.id === roomId)?.peers.get(ben.id);
      if (!benPeer) throw new Error('Ben is not on the server');
      await eventually(() => benPeer.consumers.size === 5, { what: 'Ben to consume all five tracks' });

      const benId = ben.id;
      await ben.dropConnection();
      await ana.waitFor('participantConnection', (event) => event.peerId === benId && event.reconnecting);
      // Five tracks muted and unmuted 420 times each: 2100 notifications for Ben, one per toggle.
      const toggle = async ([who, producerId]: [TestParticipant, string]): Promise<void> => {
        for (let i = 0; i < 420; i += 1) unwrap(await who.request('setProducerPaused', { producerId, paused: i % 2 === 0 }));
      };
      await Promise.all(tracks.map(toggle));
      expect(own.sessions.find(benId)?.lostNotifications).toBe(true);
      expect(benPeer.isClosed).toBe(false);

      const ben2 = await cast.arrive('Ben (again)', own);
      const refused = failureOf(await ben2.resume(ben));
      expect(refused.code).toBe('RESUME_FAILED');
      expect(refused.message).toMatch(/too much/i);
      // Given up at once, not at the end of the grace period.
      await ana.waitFor('participantLeft', (event) => event.peerId === benId, 2_000);
      expect(benPeer.isClosed).toBe(true);
      const rejoined = await ben2.join(roomId, 'Ben');
      expect(rejoined.participants.map((info) => info.id).sort()).toEqual([ana.id, cy.id].sort());
    } finally {
      await cast.dismiss();
      await own.close();
    }
  });

  it('one connection holds at most one place: a resume and a join (or two resumes) sent together do not both succeed', async () => {
    // Its own server, so a participant left behind cannot disturb the other tests.
    const own = await startTestServer({ RECONNECT_GRACE_SECONDS: '1', RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '100000' });
    try {
      const [ana, ben, cy] = [await cast.arrive('Ana', own), await cast.arrive('Ben', own), await cast.arrive('Cy', own)];
      for (const participant of [ana, ben, cy]) await participant.join('race');
      const benJoin = ben.joined;
      const cyJoin = cy.joined;
      if (!benJoin || !cyJoin) throw new Error('not joined');

      // In the same tick: the second request arrives while the first one is still being served.
      const mallory = await cast.arrive('Mallory', own);
      const resumeAndJoin = await Promise.all([
        mallory.request('resume', { peerId: benJoin.self.id, resumeToken: benJoin.resumeToken }),
        mallory.request('join', { roomId: 'race', displayName: 'Mallory', rtpCapabilities: mallory.joinCapabilities() }),
      ]);
      expect(
        resumeAndJoin.filter((answer) => answer.ok),
        'resume + join',
      ).toHaveLength(1);

      const trudy = await cast.arrive('Trudy', own);
      const twoResumes = await Promise.all([
        trudy.request('resume', { peerId: benJoin.self.id, resumeToken: benJoin.resumeToken }),
        trudy.request('resume', { peerId: cyJoin.self.id, resumeToken: cyJoin.resumeToken }),
      ]);
      expect(
        twoResumes.filter((answer) => answer.ok),
        'two resumes',
      ).toHaveLength(1);

      // Whoever holds which place, once every connection is gone nobody may be left behind.
      await cast.dismiss({ oneByOne: true });
      await eventually(async () => (await own.health()).peers === 0, { what: 'every place to be given up', timeoutMs: 5_000 });
      expect((await own.health()).rooms).toBe(0);
    } finally {
      await cast.dismiss();
      await own.close();
    }
  });

  it('when the grace period passes, the place is given up: participantLeft, consumers closed, resume fails', async () => {
    const { roomId, ana, ben, anaHearsBen } = await pair('expiry');
    const benId = ben.id;
    const dropped = Date.now();
    await ben.dropConnection();
    await ana.waitFor('participantConnection', (event) => event.peerId === benId && event.reconnecting);
    // Still there well into the grace period.
    await sleep(GRACE_MS / 2);
    expect(ana.notifications('participantLeft')).toEqual([]);
    expect((await roomOnServer(roomId))?.peers.has(benId)).toBe(true);

    await ana.waitFor('participantLeft', (event) => event.peerId === benId, GRACE_MS + 5_000);
    const elapsed = Date.now() - dropped;
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(elapsed).toBeLessThan(GRACE_MS + 3_000);
    await ana.waitFor('consumerClosed', (event) => event.consumerId === anaHearsBen.id);
    expect((await roomOnServer(roomId))?.peers.size).toBe(1);
    expect((await server.health()).peers).toBe(1);

    const late = await cast.arrive('Ben (too late)');
    const refused = failureOf(await late.resume(ben));
    expect(refused.code).toBe('RESUME_FAILED');
    expect(refused.message).toMatch(/join again/i);
    // Joining again works, as a new participant.
    const rejoined = await late.join(roomId, 'Ben');
    expect(rejoined.self.id).not.toBe(benId);
    expect(rejoined.participants.map((info) => info.id)).toEqual([ana.id]);
  });

  it('a new connection can take over a place whose old connection is still open', async () => {
    const { roomId, ana, ben, benHearsAna } = await pair('takeover');
    const benId = ben.id;
    expect(ben.connected).toBe(true);

    const ben2 = await cast.arrive('Ben (new tab)');
    unwrap(await ben2.resume(ben), 'resume');
    // The server disconnects the old connection.
    const reason = await Promise.race([ben.disconnected, sleep(5_000).then(() => 'still connected')]);
    expect(reason).toBe('io server disconnect');

    // Still one Ben, with the same id and media, now on the new connection.
    const room = await roomOnServer(roomId);
    expect(room?.peers.size).toBe(2);
    const benPeer = await peerOnServer(roomId, benId);
    expect(benPeer.session.connected).toBe(true);
    expect([...benPeer.consumers.keys()]).toEqual([benHearsAna.id]);
    // Ana never saw him leave, nor reconnect (he was never away).
    await sleep(300);
    expect(ana.notifications('participantLeft')).toEqual([]);
    expect(ana.notifications('participantConnection')).toEqual([]);

    // Notifications now reach the new connection.
    const anaCamera = await ana.produce('camera');
    await ben2.waitFor('newConsumer', fromProducer(anaCamera));
    expect(ben.indexOf('newConsumer', fromProducer(anaCamera))).toBe(-1);
    // The old connection's disconnect did not start a grace period or remove Ben.
    await sleep(GRACE_MS + 500);
    expect(ana.notifications('participantLeft')).toEqual([]);
    expect((await roomOnServer(roomId))?.peers.has(benId)).toBe(true);
  });

  it('an explicit leave or a client disconnect removes the participant at once', async () => {
    const { roomId, ana, ben, anaHearsBen } = await pair('goodbye');
    const cy = await cast.arrive('Cy');
    await cy.join(roomId);

    const benId = ben.id;
    const benJoin = ben.joined;
    const left = Date.now();
    await ben.leave();
    await ana.waitFor('participantLeft', (event) => event.peerId === benId, GRACE_MS / 2);
    expect(Date.now() - left).toBeLessThan(GRACE_MS / 2);
    await ana.waitFor('consumerClosed', (event) => event.consumerId === anaHearsBen.id);
    expect(ana.notifications('participantConnection')).toEqual([]);
    // A place left on purpose cannot be resumed.
    if (!benJoin) throw new Error('Ben had joined');
    const benAgain = await cast.arrive('Ben (again)');
    expect(failureOf(await benAgain.request('resume', { peerId: benId, resumeToken: benJoin.resumeToken })).code).toBe('RESUME_FAILED');

    const cyId = cy.id;
    const cyJoin = cy.joined;
    const disconnected = Date.now();
    await cy.close();
    await ana.waitFor('participantLeft', (event) => event.peerId === cyId, GRACE_MS / 2);
    expect(Date.now() - disconnected).toBeLessThan(GRACE_MS / 2);
    expect(ana.notifications('participantConnection')).toEqual([]);
    expect((await roomOnServer(roomId))?.peers.size).toBe(1);
    if (!cyJoin) throw new Error('Cy had joined');
    expect(failureOf(await benAgain.request('resume', { peerId: cyJoin.self.id, resumeToken: cyJoin.resumeToken })).code).toBe('RESUME_FAILED');
  });
  it('a closing tab’s leave beacon removes the participant at once, even when its connection is already gone', async () => {
    const { roomId, ana, ben, anaHearsBen } = await pair('beacon');
    const benJoin = ben.joined;
    if (!benJoin) throw new Error('Ben had joined');
    const beacon = (body: string, contentType = 'text/plain;charset=UTF-8') =>
      fetch(`${server.url}${LEAVE_BEACON_PATH}`, { method: 'POST', headers: { 'content-type': contentType }, body });

    // Bad beacons are refused with a reason, and nobody leaves.
    const malformed = await beacon('{"peerId": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { message: string }).message).toMatch(/JSON/);
    expect((await beacon(JSON.stringify({ peerId: ben.id }))).status).toBe(400);
    const forged = await beacon(JSON.stringify({ peerId: ben.id, resumeToken: 'x'.repeat(32) }));
    expect(forged.status).toBe(404);
    const huge = await beacon('x'.repeat(4096));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ code: 'TOO_LARGE', message: 'A leave beacon is at most 1 KiB' });
    expect((await roomOnServer(roomId))?.peers.has(ben.id)).toBe(true);

    // The tab is torn down: its socket's leave never got out, the network connection just ends…
    expect(await ben.dropConnection()).toBe('forced close');
    await ana.waitFor('participantConnection', (event) => event.peerId === benJoin.self.id);
    // …but the beacon arrives (as sendBeacon sends a string: text/plain), well inside the grace period.
    const sent = Date.now();
    expect((await beacon(JSON.stringify({ peerId: benJoin.self.id, resumeToken: benJoin.resumeToken }))).status).toBe(204);
    await ana.waitFor('participantLeft', (event) => event.peerId === benJoin.self.id, GRACE_MS / 2);
    await ana.waitFor('consumerClosed', (event) => event.consumerId === anaHearsBen.id);
    expect(Date.now() - sent).toBeLessThan(GRACE_MS / 2);
    expect((await roomOnServer(roomId))?.peers.size).toBe(1);
    // Once only: a second beacon (or the place's resume) finds nobody.
    expect((await beacon(JSON.stringify({ peerId: benJoin.self.id, resumeToken: benJoin.resumeToken }), 'application/json')).status).toBe(404);
    const benAgain = await cast.arrive('Ben (again)');
    expect(failureOf(await benAgain.request('resume', { peerId: benJoin.self.id, resumeToken: benJoin.resumeToken })).code).toBe('RESUME_FAILED');

    // With the connection still open, the beacon ends that connection's membership too: it can join again.
    const cy = await cast.arrive('Cy');
    const cyJoin = await cy.join(roomId);
    expect((await beacon(JSON.stringify({ peerId: cyJoin.self.id, resumeToken: cyJoin.resumeToken }))).status).toBe(204);
    await ana.waitFor('participantLeft', (event) => event.peerId === cyJoin.self.id, GRACE_MS / 2);
    await cy.join(roomId);
    expect((await roomOnServer(roomId))?.peers.size).toBe(2);
  });
});
