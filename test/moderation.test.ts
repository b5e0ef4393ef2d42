import { afterEach, describe, expect, it } from 'vitest';
import { MODERATOR_REQUESTS } from '../shared/moderation.js';
import type { RequestOf } from '../shared/protocol.js';
import { signToken } from '../server/src/auth/token.js';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { Cast } from './helpers/cast.js';
import { eventually, useServer } from './helpers/server.js';

/**
 * Running a meeting over real Socket.IO clients and a real server: roles, the lobby, moderation,
 * hands and reactions, and what the server refuses. The browser side is test/e2e/moderation.test.ts.
 */
describe('a meeting', () => {
  const server = useServer({ RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '100000', LOBBY_KNOCKS_PER_MINUTE: '10000' });
  const cast = new Cast(server);

  afterEach(async () => {
    await cast.dismiss();
    await eventually(async () => (await server.health()).rooms === 0, { what: 'every room to close' });
  });

  /** Ana (host, first in) and Ben, both joined, Ben publishing his microphone. */
  async function hostAndGuest(label: string): Promise<{ room: string; ana: TestParticipant; ben: TestParticipant; micId: string }> {
    const room = cast.newRoom(label);
    const ana = await cast.arrive('Ana');
    const ben = await cast.arrive('Ben');
    await ana.join(room);
    await ben.join(room);
    await ben.connectSendTransport();
    const micId = await ben.produce('mic');
    return { room, ana, ben, micId };
  }

  it('the first one in is host; when the host leaves, the longest present takes over', async () => {
    const room = cast.newRoom('roles');
    const ana = await cast.arrive('Ana');
    const ben = await cast.arrive('Ben');
    const cy = await cast.arrive('Cy');
    expect((await ana.join(room)).self.role).toBe('host');
    const benJoined = await ben.join(room);
    expect(benJoined.self.role).toBe('participant');
    expect(benJoined.participants.map((p) => [p.displayName, p.role])).toEqual([['Ana', 'host']]);
    await cy.join(room);
    await ana.leave();
    const update = await cy.waitFor('participantUpdated', (info) => info.id === ben.id);
    expect(update.role).toBe('host');
    await ben.waitFor('participantUpdated', (info) => info.id === ben.id && info.role === 'host');
    // The new host can act as one.
    unwrap(await ben.request('setPolicy', { locked: true }), 'lock by the new host');
  });

  it('a participant is refused every moderator request, and nothing changes', async () => {
    const { ana, ben } = await hostAndGuest('refused');
    await ana.connectSendTransport();
    const anaMic = await ana.produce('mic');
    const attempts: { [K in (typeof MODERATOR_REQUESTS)[number]]: RequestOf<K> } = {
      muteParticipant: { peerId: ana.id, source: 'mic' },
      muteAll: {},
      askToUnmute: { peerId: ana.id },
      removeParticipant: { peerId: ana.id, ban: true },
      setRole: { peerId: ana.id, role: 'participant' },
      setPolicy: { locked: true },
      answerKnocks: { admit: true },
      endMeeting: {},
      lowerAllHands: {},
    };
    for (const name of MODERATOR_REQUESTS) {
      const result = await ben.rawRequest(name, [attempts[name]]);
      expect(failureOf(result).code, name).toBe('FORBIDDEN');
    }
    expect(ana.notifications('mutedBy')).toEqual([]);
    expect(ana.notifications('removed')).toEqual([]);
    expect(ana.notifications('policy')).toEqual([]);
    const consumer = (await ben.waitFor('newConsumer', (c) => c.producerId === anaMic)).id;
    expect(ben.notifications('consumerPaused').filter((p) => p.consumerId === consumer)).toEqual([]);
    // And lowering someone else's hand is for moderators too.
    expect(failureOf(await ben.request('lowerHand', { peerId: ana.id })).code).toBe('FORBIDDEN');
  });

  it('a host mutes a microphone: everyone sees it off, and only its owner can turn it on again', async () => {
    const { room, ana, ben, micId } = await hostAndGuest('mute');
    const cy = await cast.arrive('Cy');
    await cy.join(room);
    const atCy = await cy.waitFor('newConsumer', (consumer) => consumer.producerId === micId);
    unwrap(await ana.request('muteParticipant', { peerId: ben.id, source: 'mic' }), 'mute');
    expect(await ben.waitFor('mutedBy')).toEqual({ source: 'mic', by: { peerId: ana.id, displayName: 'Ana' } });
    await cy.waitFor('consumerPaused', (paused) => paused.consumerId === atCy.id);
    // Nobody can be unmuted by someone else: they are asked.
    unwrap(await ana.request('askToUnmute', { peerId: ben.id }), 'ask');
    await ben.waitFor('unmuteRequested', (ask) => 'peerId' in ask.by && ask.by.peerId === ana.id);
    unwrap(await ben.request('setProducerPaused', { producerId: micId, paused: false }), 'unmute by its owner');
    await cy.waitFor('consumerResumed', (resumed) => resumed.consumerId === atCy.id);
    // "Mute all" mutes everyone but the one who asks.
    await ana.connectSendTransport();
    await ana.produce('mic');
    expect(unwrap(await ana.request('muteAll', {}), 'mute all').muted).toBe(1);
    await eventually(() => cy.notifications('consumerPaused').filter((p) => p.consumerId === atCy.id).length === 2, { what: 'Ben muted again' });
  });

  it('a removed participant is told why, and a ban keeps the name out until the room closes', async () => {
    const { room, ana, ben } = await hostAndGuest('ban');
    unwrap(await ana.request('removeParticipant', { peerId: ben.id, ban: true }), 'remove');
    expect(await ben.waitFor('removed')).toMatchObject({ reason: 'banned' });
    await ana.waitFor('participantLeft', (left) => left.peerId === ben.id);
    const again = await cast.arrive('ben');
    const refused = await again.request('join', { roomId: room, displayName: 'BEN', rtpCapabilities: again.joinCapabilities() });
    expect(failureOf(refused)).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/removed/) });
    await again.join(room, 'Benjamin');
    // Acting on someone of another room is impossible.
    const elsewhere = await cast.arrive('Dee');
    await elsewhere.join(cast.newRoom('elsewhere'));
    expect(failureOf(await ana.request('removeParticipant', { peerId: elsewhere.id, ban: false })).code).toBe('NOT_FOUND');
    // The room closes, and the ban goes with it.
    await ana.leave();
    await again.leave();
    await eventually(async () => !(await server.rooms.list()).some((open) => open.id === room), { what: 'the room to close' });
    await (await cast.arrive('Ben')).join(room);
  });

  it('a locked room keeps newcomers in the lobby until a host admits them; denied ones are told', async () => {
    const { room, ana } = await hostAndGuest('lobby');
    unwrap(await ana.request('setPolicy', { locked: true }), 'lock');
    const cy = await cast.arrive('Cy');
    const knocked = failureOf(await cy.request('join', { roomId: room, displayName: 'Cy', rtpCapabilities: cy.joinCapabilities() }));
    expect(knocked.code).toBe('IN_LOBBY');
    expect(await cy.waitFor('lobbyStatus')).toEqual({ moderatorsPresent: true });
    const { knocks } = await ana.waitFor('lobby', (lobby) => lobby.knocks.length === 1);
    expect(knocks[0]?.displayName).toBe('Cy');
    unwrap(await ana.request('answerKnocks', { admit: true, knockIds: [knocks[0]!.id] }), 'admit');
    expect(await cy.waitFor('knockAnswered')).toMatchObject({ admitted: true });
    const joined = await cy.join(room);
    expect(joined.participants.map((p) => p.displayName).sort()).toEqual(['Ana', 'Ben']);
    expect(joined.policy.locked).toBe(true);

    const dee = await cast.arrive('Dee');
    expect(failureOf(await dee.request('join', { roomId: room, displayName: 'Dee', rtpCapabilities: dee.joinCapabilities() })).code).toBe('IN_LOBBY');
    unwrap(await ana.request('answerKnocks', { admit: false }), 'deny all');
    expect(await dee.waitFor('knockAnswered')).toMatchObject({ admitted: false, reason: 'denied' });
    // Denied is denied: joining again knocks again, it does not walk in.
    expect(failureOf(await dee.request('join', { roomId: room, displayName: 'Dee', rtpCapabilities: dee.joinCapabilities() })).code).toBe('IN_LOBBY');
  });

  it('the room’s creator may ask for the lobby; unlocking lets everyone waiting in', async () => {
    const room = cast.newRoom('creator-lobby');
    const ana = await cast.arrive('Ana');
    unwrap(await ana.request('join', { roomId: room, displayName: 'Ana', rtpCapabilities: ana.joinCapabilities(), lobby: true }), 'create with lobby');
    await ana.waitFor('policy', (policy) => policy.locked);
    // A second arrival asking for the lobby cannot change anything: the room exists already.
    const knockers = await Promise.all(['Ben', 'Cy'].map((name) => cast.arrive(name)));
    for (const knocker of knockers) {
      expect(failureOf(await knocker.request('join', { roomId: room, displayName: knocker.name, rtpCapabilities: knocker.joinCapabilities() })).code).toBe(
        'IN_LOBBY',
      );
    }
    unwrap(await ana.request('setPolicy', { locked: false }), 'unlock');
    for (const knocker of knockers) {
      await knocker.waitFor('knockAnswered', (answer) => answer.admitted);
      await knocker.join(room);
    }
  });

  it('screen sharing, chat and files can be kept to hosts and moderators; a host can make someone moderator', async () => {
    const { ana, ben } = await hostAndGuest('permissions');
    unwrap(await ana.request('setPolicy', { screenShare: 'moderators', files: 'moderators' }), 'policy');
    expect(await ben.waitFor('policy')).toMatchObject({ screenShare: 'moderators', files: 'moderators', chat: 'everyone' });
    expect(failureOf(await ben.request('produce', ben.produceRequest('screen'))).code).toBe('FORBIDDEN');
    expect(failureOf(await ben.request('offerFile', { name: 'a.txt', type: 'text/plain', size: 10 })).code).toBe('FORBIDDEN');

    unwrap(await ana.request('setRole', { peerId: ben.id, role: 'moderator' }), 'make moderator');
    await ben.waitFor('participantUpdated', (info) => info.id === ben.id && info.role === 'moderator');
    await ben.waitFor('lobby');
    await ben.produce('screen');
    // A moderator runs the meeting but cannot hand out roles.
    expect(failureOf(await ben.request('setRole', { peerId: ana.id, role: 'participant' })).code).toBe('FORBIDDEN');
    unwrap(await ben.request('setPolicy', { locked: true }), 'a moderator locks');
  });

  it('hands go up in order and come down; reactions reach everyone, a few at a time', async () => {
    const { room, ana, ben } = await hostAndGuest('hands');
    const cy = await cast.arrive('Cy');
    await cy.join(room);
    unwrap(await cy.request('raiseHand', {}), 'Cy raises');
    unwrap(await ben.request('raiseHand', {}), 'Ben raises');
    const cyHand = await ana.waitFor('participantUpdated', (info) => info.id === cy.id && info.handRaisedAt !== null);
    const benHand = await ana.waitFor('participantUpdated', (info) => info.id === ben.id && info.handRaisedAt !== null);
    expect(cyHand.handRaisedAt!).toBeLessThanOrEqual(benHand.handRaisedAt!);
    unwrap(await ben.request('lowerHand', {}), 'Ben lowers his own');
    await ana.waitFor('participantUpdated', (info) => info.id === ben.id && info.handRaisedAt === null);
    unwrap(await ana.request('lowerAllHands', {}), 'lower all');
    await ben.waitFor('participantUpdated', (info) => info.id === cy.id && info.handRaisedAt === null);

    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await ben.request('react', { reaction: '🎉' }));
    expect(answers.filter((answer) => answer.ok)).toHaveLength(4);
    expect(failureOf(answers[5]!).code).toBe('RATE_LIMITED');
    await eventually(() => cy.notifications('reaction').length === 4, { what: 'four reactions at Cy' });
    expect(cy.notifications('reaction')[0]).toEqual({ peerId: ben.id, reaction: '🎉' });
    expect(failureOf(await ben.request('react', { reaction: 'spam' as never })).code).toBe('BAD_REQUEST');
  });

  it('ending the meeting tells everyone, including whoever waits in the lobby', async () => {
    const { room, ana, ben } = await hostAndGuest('end');
    unwrap(await ana.request('setPolicy', { locked: true }), 'lock');
    const cy = await cast.arrive('Cy');
    expect(failureOf(await cy.request('join', { roomId: room, displayName: 'Cy', rtpCapabilities: cy.joinCapabilities() })).code).toBe('IN_LOBBY');
    unwrap(await ana.request('endMeeting', {}), 'end');
    expect(await ben.waitFor('removed')).toMatchObject({ reason: 'ended' });
    expect(await cy.waitFor('knockAnswered')).toMatchObject({ admitted: false, reason: 'ended' });
    await eventually(async () => !(await server.rooms.list()).some((open) => open.id === room), { what: 'the room to close' });
  });
});

describe('a flooded lobby', () => {
  const server = useServer({ MAX_LOBBY: '3', LOBBY_KNOCKS_PER_MINUTE: '1' });

  it('is bounded, and one address cannot flood it', async () => {
    const cast = new Cast(server);
    try {
      const room = 'flood';
      const ana = await cast.arrive('Ana');
      await ana.join(room);
      unwrap(await ana.request('setPolicy', { locked: true }), 'lock');
      const codes: string[] = [];
      const knockers: TestParticipant[] = [];
      for (let i = 0; i < 7; i++) {
        const knocker = await cast.arrive(`K${i}`);
        knockers.push(knocker);
        codes.push(failureOf(await knocker.request('join', { roomId: room, displayName: `K${i}`, rtpCapabilities: knocker.joinCapabilities() })).code);
      }
      // MAX_LOBBY 3; a burst of 5 knocks per address (127.0.0.1 here), then 1 a minute.
      expect(codes).toEqual(['IN_LOBBY', 'IN_LOBBY', 'IN_LOBBY', 'ROOM_FULL', 'ROOM_FULL', 'RATE_LIMITED', 'RATE_LIMITED']);
      expect((await ana.waitFor('lobby', (lobby) => lobby.knocks.length === 3)).knocks).toHaveLength(3);
      // A knock that leaves frees its place.
      await knockers[1]!.close();
      await ana.waitFor('lobby', (lobby) => lobby.knocks.length === 2);
    } finally {
      await cast.dismiss();
    }
  });
});

describe('a lobby nobody answers (join tokens decide roles)', () => {
  const secret = 'moderation-test-secret-0123456789';
  const server = useServer({ LOBBY_TIMEOUT: '10s', AUTH_SECRET: secret });

  async function joinWithToken(
    participant: TestParticipant,
    room: string,
    role: 'moderator' | 'participant',
  ): Promise<Awaited<ReturnType<TestParticipant['request']>>> {
    const token = await signToken(secret, { room, name: participant.name, role }, 600);
    return participant.request('join', { roomId: room, displayName: participant.name, rtpCapabilities: participant.joinCapabilities(), token });
  }

  it('a join and a resume sent together on one connection cannot both take a place', async () => {
    const ana = await TestParticipant.connect(server.url, 'Ana');
    const again = await TestParticipant.connect(server.url, 'Ana');
    try {
      const room = 'one-place';
      const joined = unwrap(await joinWithToken(ana, room, 'participant'), 'join') as { self: { id: string }; resumeToken: string };
      await ana.dropConnection();
      // The join verifies its token asynchronously; the resume, sent right behind it, must not slip in meanwhile.
      const token = await signToken(secret, { room, name: 'Ana', role: 'participant' }, 600);
      const [join, resume] = await Promise.all([
        again.request('join', { roomId: room, displayName: 'Ana', rtpCapabilities: again.joinCapabilities(), token }),
        again.request('resume', { peerId: joined.self.id, resumeToken: joined.resumeToken }),
      ]);
      expect(join.ok, JSON.stringify(join)).toBe(true);
      expect(failureOf(resume).code).toBe('ALREADY_JOINED');
    } finally {
      await Promise.all([ana.close(), again.close()]);
    }
  });

  it('says when no host or moderator is there, and gives up after LOBBY_TIMEOUT', async () => {
    const [ana, ben, cy] = await Promise.all(['Ana', 'Ben', 'Cy'].map((name) => TestParticipant.connect(server.url, name)));
    try {
      const room = 'unanswered';
      expect(unwrap(await joinWithToken(cy!, room, 'participant'), 'Cy joins') as { self: { role: string } }).toMatchObject({ self: { role: 'participant' } });
      unwrap(await joinWithToken(ana!, room, 'moderator'), 'Ana joins');
      unwrap(await ana!.request('setPolicy', { locked: true }), 'lock');
      expect(failureOf(await joinWithToken(ben!, room, 'participant')).code).toBe('IN_LOBBY');
      await ben!.waitFor('lobbyStatus', (status) => status.moderatorsPresent);
      await ana!.leave();
      await ben!.waitFor('lobbyStatus', (status) => !status.moderatorsPresent);
      const answer = await ben!.waitFor('knockAnswered', () => true, 20_000);
      expect(answer).toMatchObject({ admitted: false, reason: 'timeout' });
    } finally {
      await Promise.all([ana, ben, cy].map((participant) => participant!.close()));
    }
  });
});
