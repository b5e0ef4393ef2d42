// Over ~350 lines on purpose: the whole signalling protocol over real sockets, its good paths and then
// its typed refusals, on one server fixture.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Result } from '../shared/errors.js';
import { PROTOCOL_VERSION, Requests, type ConsumerInfo, type RequestName } from '../shared/protocol.js';
import type { Peer } from '../server/src/rooms/Peer.js';
import type { Room } from '../server/src/rooms/Room.js';
import { failureOf, fakeDtlsParameters, TestParticipant, unwrap } from './helpers/participant.js';
import { Cast } from './helpers/cast.js';
import { eventually, useServer } from './helpers/server.js';

/**
 * The signalling protocol as participants live it: real Socket.IO clients against a real server
 * with real mediasoup workers. No browser, so the RTP parameters are built by hand and no media
 * flows; everything up to the media path is the real thing.
 */
describe('Conclave signalling', () => {
  // Validation is under test here, not the request budget (test/limits.test.ts covers that).
  const server = useServer({ RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '100000' });
  const cast = new Cast(server);

  afterEach(async () => {
    await cast.dismiss();
    // Each story starts from an empty server.
    await eventually(
      async () => {
        const health = await server.health();
        return health.rooms === 0 && health.peers === 0;
      },
      { what: 'the server to be empty after the test' },
    );
  });

  afterAll(async () => {
    await cast.dismiss();
  });

  it('a newcomer gets one consumer of each producer, even one published while it was joining', async () => {
    // The fan-out at publish time and the newcomer's consumeExisting (after its join answer) both
    // reach a producer made in between; twenty tries give the race every chance.
    for (let attempt = 0; attempt < 20; attempt++) {
      const room = cast.newRoom('join-race');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(room);
      await ana.connectSendTransport();
      const [, producerId] = await Promise.all([ben.join(room), ana.produce('camera')]);
      await ben.waitFor('newConsumer', (consumer) => consumer.producerId === producerId);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ben.notifications('newConsumer').filter((consumer) => consumer.producerId === producerId)).toHaveLength(1);
      expect((await peerOnServer(room, ben)).consumers.size).toBe(1);
      await Promise.all([ana.close(), ben.close()]);
    }
  });

  async function roomOnServer(roomId: string): Promise<Room | undefined> {
    return (await server.rooms.list()).find((room) => room.id === roomId);
  }

  async function peerOnServer(roomId: string, participant: TestParticipant): Promise<Peer> {
    const peer = (await roomOnServer(roomId))?.peers.get(participant.id);
    if (!peer) throw new Error(`${participant.name} is not in room ${roomId} on the server`);
    return peer;
  }

  async function consumerOnServer(roomId: string, participant: TestParticipant, consumerId: string) {
    const consumer = (await peerOnServer(roomId, participant)).consumers.get(consumerId);
    if (!consumer) throw new Error(`${participant.name} has no consumer ${consumerId} on the server`);
    return consumer;
  }

  const fromProducer = (producerId: string) => (consumer: ConsumerInfo) => consumer.producerId === producerId;

  async function healthz(): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${server.url}/healthz`);
    const body: unknown = await response.json();
    return { status: response.status, body };
  }

  describe('meeting and media', () => {
    it('two participants join one room and learn about each other', async () => {
      const roomId = cast.newRoom('standup');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      expect(ana.welcome.protocolVersion).toBe(PROTOCOL_VERSION);
      expect(ana.routerRtpCapabilities.codecs?.some((codec) => codec.mimeType === 'audio/opus')).toBe(true);

      const anaJoin = await ana.join(roomId, 'Ana');
      expect(anaJoin.roomId).toBe(roomId);
      expect(anaJoin.self.displayName).toBe('Ana');
      expect(anaJoin.participants).toEqual([]);
      expect(Array.isArray(anaJoin.iceServers)).toBe(true);
      expect(anaJoin.sendTransport.id).not.toBe(anaJoin.recvTransport.id);
      expect(anaJoin.sendTransport.iceCandidates.length).toBeGreaterThan(0);
      expect(anaJoin.sendTransport.iceParameters.usernameFragment).toEqual(expect.any(String));

      const benJoin = await ben.join(roomId, 'Ben');
      expect(benJoin.self.id).not.toBe(anaJoin.self.id);
      expect(benJoin.participants).toEqual([anaJoin.self]);
      expect(Array.isArray(benJoin.iceServers)).toBe(true);

      const joined = await ana.waitFor('participantJoined', (info) => info.id === benJoin.self.id);
      expect(joined).toEqual(benJoin.self);
      // Nobody is told about themselves.
      expect(ben.notifications('participantJoined')).toEqual([]);
      expect(ana.notifications('participantJoined')).toHaveLength(1);
      expect((await roomOnServer(roomId))?.peers.size).toBe(2);
    });

    it('microphone and camera reach the other participant paused, and play once resumed', async () => {
      const roomId = cast.newRoom('pairing');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);

      const micId = await ana.produce('mic');
      const cameraId = await ana.produce('camera');

      const mic = await ben.waitFor('newConsumer', fromProducer(micId));
      expect(mic).toMatchObject({ peerId: ana.id, source: 'mic', kind: 'audio', producerPaused: false });
      expect(mic.rtpParameters.codecs[0]?.mimeType).toBe('audio/opus');
      const camera = await ben.waitFor('newConsumer', fromProducer(cameraId));
      expect(camera).toMatchObject({ peerId: ana.id, source: 'camera', kind: 'video', producerPaused: false });
      expect(camera.rtpParameters.codecs[0]?.mimeType).toBe('video/VP8');
      expect(camera.id).not.toBe(mic.id);

      // The server holds them paused until the client says it is ready.
      expect((await consumerOnServer(roomId, ben, mic.id)).paused).toBe(true);
      expect((await consumerOnServer(roomId, ben, camera.id)).paused).toBe(true);

      unwrap(await ben.request('resumeConsumer', { consumerId: mic.id }));
      unwrap(await ben.request('resumeConsumer', { consumerId: camera.id }));
      expect((await consumerOnServer(roomId, ben, mic.id)).paused).toBe(false);
      expect((await consumerOnServer(roomId, ben, camera.id)).paused).toBe(false);

      // Ana does not receive her own media back.
      expect(ana.notifications('newConsumer')).toEqual([]);
      expect(ben.notifications('newConsumer')).toHaveLength(2);
    });

    it('a late joiner gets its join answer first, then one newConsumer per producer already in the room', async () => {
      const roomId = cast.newRoom('late');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      const producers = [await ana.produce('mic'), await ana.produce('camera'), await ben.produce('mic')];
      await ana.waitFor('newConsumer', fromProducer(producers[2] ?? ''));

      const cy = await cast.arrive('Cy');
      const answer = await cy.join(roomId);
      expect(answer.participants.map((info) => info.id).sort()).toEqual([ana.id, ben.id].sort());

      await eventually(() => cy.notifications('newConsumer').length >= producers.length, { what: 'Cy to receive the existing producers' });
      const ack = cy.ackIndex('join');
      expect(ack).toBeGreaterThanOrEqual(0);
      const consumerIndexes = cy.timeline.flatMap((entry, index) => (entry.type === 'notification' && entry.event === 'newConsumer' ? [index] : []));
      for (const index of consumerIndexes) expect(index).toBeGreaterThan(ack);

      const consumers = cy.notifications('newConsumer');
      expect(consumers.map((consumer) => consumer.producerId).sort()).toEqual([...producers].sort());
      expect(consumers.find(fromProducer(producers[1] ?? ''))).toMatchObject({ peerId: ana.id, source: 'camera', kind: 'video' });
      expect(consumers.find(fromProducer(producers[2] ?? ''))).toMatchObject({ peerId: ben.id, source: 'mic', kind: 'audio' });

      // Exactly one each: nothing more trickles in.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(cy.notifications('newConsumer')).toHaveLength(producers.length);
      expect((await peerOnServer(roomId, cy)).consumers.size).toBe(producers.length);
    });

    it('muting pauses the others’ consumers and unmuting resumes them', async () => {
      const roomId = cast.newRoom('mute');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      const micId = await ana.produce('mic');
      const consumer = await ben.waitFor('newConsumer', fromProducer(micId));
      unwrap(await ben.request('resumeConsumer', { consumerId: consumer.id }));

      unwrap(await ana.request('setProducerPaused', { producerId: micId, paused: true }));
      await ben.waitFor('consumerPaused', (event) => event.consumerId === consumer.id);
      expect((await consumerOnServer(roomId, ben, consumer.id)).producerPaused).toBe(true);
      expect((await peerOnServer(roomId, ana)).producers.get(micId)?.paused).toBe(true);
      expect(ben.notifications('consumerResumed')).toEqual([]);

      unwrap(await ana.request('setProducerPaused', { producerId: micId, paused: false }));
      await ben.waitFor('consumerResumed', (event) => event.consumerId === consumer.id);
      expect((await consumerOnServer(roomId, ben, consumer.id)).producerPaused).toBe(false);
      expect((await peerOnServer(roomId, ana)).producers.get(micId)?.paused).toBe(false);
    });

    it('a consumer the client pauses stays paused until the client resumes it, whatever else happens', async () => {
      const roomId = cast.newRoom('hidden-tile');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      const micId = await ana.produce('mic');
      const consumer = await ben.waitFor('newConsumer', fromProducer(micId));
      const paused = async () => (await consumerOnServer(roomId, ben, consumer.id)).paused;

      // Hidden before it was ever set up: the initial resume must not start it.
      unwrap(await ben.request('setConsumerPreferences', { consumerId: consumer.id, paused: true }));
      unwrap(await ben.request('resumeConsumer', { consumerId: consumer.id }));
      expect(await paused()).toBe(true);
      // Nor does the sender unmuting.
      unwrap(await ana.request('setProducerPaused', { producerId: micId, paused: true }));
      unwrap(await ana.request('setProducerPaused', { producerId: micId, paused: false }));
      await ben.waitFor('consumerResumed', (event) => event.consumerId === consumer.id);
      expect(await paused()).toBe(true);

      unwrap(await ben.request('setConsumerPreferences', { consumerId: consumer.id, paused: false }));
      expect(await paused()).toBe(false);
      // Layers are ignored for audio; the answer is still a success.
      unwrap(await ben.request('setConsumerPreferences', { consumerId: consumer.id, spatialLayer: 0, temporalLayer: 1 }));
      expect(failureOf(await ben.request('setConsumerPreferences', { consumerId: consumer.id, spatialLayer: 3 })).code).toBe('BAD_REQUEST');
      expect(failureOf(await ana.request('setConsumerPreferences', { consumerId: consumer.id, paused: true })).code).toBe('NOT_FOUND');
      expect(await paused()).toBe(false);
    });

    it('a consumer not yet set up is not started by a client asking to show it', async () => {
      const roomId = cast.newRoom('early-show');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      const micId = await ana.produce('mic');
      const consumer = await ben.waitFor('newConsumer', fromProducer(micId));
      unwrap(await ben.request('setConsumerPreferences', { consumerId: consumer.id, paused: false }));
      expect((await consumerOnServer(roomId, ben, consumer.id)).paused).toBe(true);
      unwrap(await ben.request('resumeConsumer', { consumerId: consumer.id }));
      expect((await consumerOnServer(roomId, ben, consumer.id)).paused).toBe(false);
    });

    it('a track published paused arrives with producerPaused true', async () => {
      const roomId = cast.newRoom('camera-off');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      const cameraId = await ana.produce('camera', { paused: true });
      const consumer = await ben.waitFor('newConsumer', fromProducer(cameraId));
      expect(consumer.producerPaused).toBe(true);
      expect((await consumerOnServer(roomId, ben, consumer.id)).producerPaused).toBe(true);
    });

    it('closing a producer closes the others’ consumers and frees the source', async () => {
      const roomId = cast.newRoom('share');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      const screenId = await ana.produce('screen');
      const consumer = await ben.waitFor('newConsumer', fromProducer(screenId));
      expect(consumer.source).toBe('screen');

      unwrap(await ana.request('closeProducer', { producerId: screenId }));
      await ben.waitFor('consumerClosed', (event) => event.consumerId === consumer.id);
      await eventually(async () => !(await peerOnServer(roomId, ben)).consumers.has(consumer.id), { what: 'the consumer to be gone on the server' });
      expect((await peerOnServer(roomId, ana)).producers.has(screenId)).toBe(false);

      // Closed means gone: a second close is NOT_FOUND, and a new screen share is allowed.
      expect(failureOf(await ana.request('closeProducer', { producerId: screenId })).code).toBe('NOT_FOUND');
      const again = await ana.produce('screen');
      await ben.waitFor('newConsumer', fromProducer(again));
    });

    it('leaving and disconnecting tell the others, and the last one out closes the room', async () => {
      const roomId = cast.newRoom('retro');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      const cy = await cast.arrive('Cy');
      await ana.join(roomId);
      await ben.join(roomId);
      await cy.join(roomId);
      const anaMic = await ana.produce('mic');
      const anaCamera = await ana.produce('camera');
      const benMic = await ben.produce('mic');
      const benSees = await Promise.all([anaMic, anaCamera].map((id) => ben.waitFor('newConsumer', fromProducer(id))));
      const cySees = await Promise.all([anaMic, anaCamera, benMic].map((id) => cy.waitFor('newConsumer', fromProducer(id))));
      await ana.waitFor('newConsumer', fromProducer(benMic));

      // Ana leaves with a request.
      const anaId = ana.id;
      const anaProduceScreen = ana.produceRequest('screen');
      await ana.leave();
      for (const other of [ben, cy]) {
        await other.waitFor('participantLeft', (event) => event.peerId === anaId);
      }
      for (const consumer of benSees) await ben.waitFor('consumerClosed', (event) => event.consumerId === consumer.id);
      for (const consumer of cySees.slice(0, 2)) await cy.waitFor('consumerClosed', (event) => event.consumerId === consumer.id);
      expect(cy.indexOf('consumerClosed', (event) => event.consumerId === cySees[2]?.id)).toBe(-1);
      expect((await roomOnServer(roomId))?.peers.has(anaId)).toBe(false);
      // Having left, Ana can no longer publish.
      expect(failureOf(await ana.request('produce', anaProduceScreen)).code).toBe('NOT_JOINED');

      // Ben's connection drops.
      const benId = ben.id;
      await ben.close();
      await cy.waitFor('participantLeft', (event) => event.peerId === benId);
      await cy.waitFor('consumerClosed', (event) => event.consumerId === cySees[2]?.id);
      await eventually(async () => (await roomOnServer(roomId))?.peers.size === 1, { what: 'only Cy to be left' });
      expect((await server.health()).peers).toBe(1);

      // The last one out: the room is gone.
      await cy.leave();
      await eventually(async () => (await roomOnServer(roomId)) === undefined, { what: 'the room to close' });
      const { status, body } = await healthz();
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'ok', rooms: 0, peers: 0 });
      expect(await server.rooms.list()).toEqual([]);
    });

    it('rooms are isolated from each other', async () => {
      const roomA = cast.newRoom('alpha');
      const roomB = cast.newRoom('beta');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      const zed = await cast.arrive('Zed');

      await ana.join(roomA);
      const anaMic = await ana.produce('mic');
      const zedJoin = await zed.join(roomB);
      expect(zedJoin.participants).toEqual([]);
      expect(zedJoin.roomId).toBe(roomB);

      await ben.join(roomA);
      await ana.waitFor('participantJoined', (info) => info.id === ben.id);
      await ben.waitFor('newConsumer', fromProducer(anaMic));
      const benCamera = await ben.produce('camera');
      await ana.waitFor('newConsumer', fromProducer(benCamera));

      // Zed publishes in B; nobody in A hears of it.
      const zedMic = await zed.produce('mic');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(zed.notifications('participantJoined')).toEqual([]);
      expect(zed.notifications('newConsumer')).toEqual([]);
      expect(ana.indexOf('newConsumer', fromProducer(zedMic))).toBe(-1);
      expect(ben.indexOf('newConsumer', fromProducer(zedMic))).toBe(-1);
      expect(ana.notifications('participantJoined').map((info) => info.id)).toEqual([ben.id]);

      const a = await roomOnServer(roomA);
      const b = await roomOnServer(roomB);
      expect([...(a?.peers.keys() ?? [])].sort()).toEqual([ana.id, ben.id].sort());
      expect([...(b?.peers.keys() ?? [])]).toEqual([zed.id]);
      expect(a?.router.id).not.toBe(b?.router.id);
    });
  });

  describe('bad and out-of-order requests get typed errors', () => {
    it('asking for anything before joining is NOT_JOINED', async () => {
      const eve = await cast.arrive('Eve');
      const rtpParameters = eve.rtpParametersFor('mic');
      const answers = {
        produce: await eve.request('produce', { transportId: 'some-transport', kind: 'audio', rtpParameters, source: 'mic' }),
        connectTransport: await eve.request('connectTransport', { transportId: 'some-transport', dtlsParameters: fakeDtlsParameters() }),
        restartIce: await eve.request('restartIce', { transportId: 'some-transport' }),
        closeProducer: await eve.request('closeProducer', { producerId: 'some-producer' }),
        setProducerPaused: await eve.request('setProducerPaused', { producerId: 'some-producer', paused: true }),
        resumeConsumer: await eve.request('resumeConsumer', { consumerId: 'some-consumer' }),
      };
      for (const [name, answer] of Object.entries(answers)) {
        expect(failureOf(answer).code, name).toBe('NOT_JOINED');
        expect(failureOf(answer).message, name).not.toBe('');
      }
    });

    it('join validates the room id and display name', async () => {
      const eve = await cast.arrive('Eve');
      const rtpCapabilities = eve.joinCapabilities();
      const roomId = cast.newRoom('valid');
      const cases: { roomId: string; displayName: string; field: string }[] = [
        { roomId: 'bad room!', displayName: 'Eve', field: 'roomId' },
        { roomId: '', displayName: 'Eve', field: 'roomId' },
        { roomId: 'x'.repeat(65), displayName: 'Eve', field: 'roomId' },
        { roomId, displayName: '', field: 'displayName' },
        { roomId, displayName: '   ', field: 'displayName' },
        { roomId, displayName: 'E'.repeat(41), field: 'displayName' },
        { roomId, displayName: 'Eve\u0000', field: 'displayName' },
        { roomId, displayName: '<script>', field: 'displayName' },
      ];
      for (const { field, ...request } of cases) {
        const error = failureOf(await eve.request('join', { ...request, rtpCapabilities }));
        expect(error.code, JSON.stringify(request)).toBe('BAD_REQUEST');
        expect(error.message, JSON.stringify(request)).toContain(field);
      }
      expect(await roomOnServer(roomId)).toBeUndefined();

      // The connection is still in the lobby and can join properly.
      const answer = await eve.join(roomId, '  Eve  ');
      expect(answer.self.displayName).toBe('Eve');
    });

    it('joining twice is ALREADY_JOINED and leaves the first membership alone', async () => {
      const roomId = cast.newRoom('twice');
      const eve = await cast.arrive('Eve');
      await eve.join(roomId);
      const same = failureOf(await eve.request('join', { roomId, displayName: 'Eve', rtpCapabilities: eve.joinCapabilities() }));
      expect(same.code).toBe('ALREADY_JOINED');
      const other = failureOf(await eve.request('join', { roomId: cast.newRoom('elsewhere'), displayName: 'Eve', rtpCapabilities: eve.joinCapabilities() }));
      expect(other.code).toBe('ALREADY_JOINED');
      expect((await server.rooms.list()).map((room) => room.id)).toEqual([roomId]);
      expect((await roomOnServer(roomId))?.peers.size).toBe(1);

      // After leaving, the same connection may join again.
      await eve.leave();
      await eve.join(roomId);
      expect((await roomOnServer(roomId))?.peers.has(eve.id)).toBe(true);
    });

    it('an unknown request is BAD_REQUEST', async () => {
      const eve = await cast.arrive('Eve');
      const error = failureOf(await eve.rawRequest('deleteEverything', [{ all: true }]));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain('deleteEverything');
      expect(failureOf(await eve.rawRequest('toString', [])).code).toBe('BAD_REQUEST');
      expect(failureOf(await eve.rawRequest('__proto__', [{}])).code).toBe('BAD_REQUEST');
      // "error" is not reserved on the wire; it must not reach an unhandled 'error' event on the server.
      expect(failureOf(await eve.rawRequest('error', [new Error('boom').message])).code).toBe('BAD_REQUEST');
      eve.rawEmit('error', 'boom');
      expect(failureOf(await eve.rawRequest('deleteEverything', [])).code).toBe('BAD_REQUEST');
      expect(eve.connected).toBe(true);
    });

    it('another participant’s transports, producers and consumers are NOT_FOUND', async () => {
      const roomId = cast.newRoom('mine');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      const benMic = await ben.produce('mic');
      const anaMic = await ana.produce('mic');
      const benConsumer = await ben.waitFor('newConsumer', fromProducer(anaMic));
      await ana.waitFor('newConsumer', fromProducer(benMic));

      const answers = {
        connectTransport: await ana.request('connectTransport', { transportId: ben.recvTransportId, dtlsParameters: fakeDtlsParameters() }),
        restartIceSend: await ana.request('restartIce', { transportId: ben.sendTransportId }),
        restartIceRecv: await ana.request('restartIce', { transportId: ben.recvTransportId }),
        resumeConsumer: await ana.request('resumeConsumer', { consumerId: benConsumer.id }),
        setProducerPaused: await ana.request('setProducerPaused', { producerId: benMic, paused: true }),
        closeProducer: await ana.request('closeProducer', { producerId: benMic }),
        produceOnTheirs: await ana.request('produce', ana.produceRequest('camera', { transportId: ben.sendTransportId })),
        unknownConsumer: await ana.request('resumeConsumer', { consumerId: 'no-such-consumer' }),
      };
      for (const [name, answer] of Object.entries(answers)) expect(failureOf(answer).code, name).toBe('NOT_FOUND');

      // Ben's media is untouched.
      const benPeer = await peerOnServer(roomId, ben);
      expect(benPeer.producers.get(benMic)?.paused).toBe(false);
      expect(benPeer.consumers.get(benConsumer.id)?.paused).toBe(true);
      expect(ben.notifications('consumerClosed')).toEqual([]);
    });

    it('publishing is checked: own send transport, matching kind, one track per source, known codec', async () => {
      const roomId = cast.newRoom('publish');
      const ana = await cast.arrive('Ana');
      await ana.join(roomId);
      await ana.connectSendTransport();

      const onRecv = failureOf(await ana.request('produce', ana.produceRequest('mic', { transportId: ana.recvTransportId })));
      expect(onRecv.code).toBe('FORBIDDEN');

      const micAsVideo = failureOf(await ana.request('produce', ana.produceRequest('mic', { kind: 'video', rtpParameters: ana.rtpParametersFor('camera') })));
      expect(micAsVideo.code).toBe('BAD_REQUEST');
      expect(micAsVideo.message).toContain('mic');
      const cameraAsAudio = failureOf(
        await ana.request('produce', ana.produceRequest('camera', { kind: 'audio', rtpParameters: ana.rtpParametersFor('mic') })),
      );
      expect(cameraAsAudio.code).toBe('BAD_REQUEST');

      await ana.produce('camera');
      const secondCamera = failureOf(await ana.request('produce', ana.produceRequest('camera')));
      expect(secondCamera.code).toBe('BAD_REQUEST');
      expect(secondCamera.message).toContain('camera');

      // A codec the router does not have is refused with a typed error, not a crash.
      const pcmu = ana.produceRequest('mic', {
        rtpParameters: { codecs: [{ mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000 }], encodings: [{ ssrc: 1234 }] },
      });
      expect(['UNSUPPORTED', 'BAD_REQUEST']).toContain(failureOf(await ana.request('produce', pcmu)).code);
      // An encoding pointing at a payload type that none of the codecs has is refused too.
      const strayPayloadType = ana.produceRequest('mic', {
        rtpParameters: { ...ana.rtpParametersFor('mic'), encodings: [{ ssrc: 5678, codecPayloadType: 55 }] },
      });
      expect(['UNSUPPORTED', 'BAD_REQUEST']).toContain(failureOf(await ana.request('produce', strayPayloadType)).code);

      // Only the one camera exists on the server, and the mic slot is still free.
      expect([...(await peerOnServer(roomId, ana)).producers.values()].map((producer) => producer.appData.source)).toEqual(['camera']);
      await ana.produce('mic');
    });

    it('a codec of the wrong kind, a doubled publish and a second connect are refused', async () => {
      const roomId = cast.newRoom('races');
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      await ana.join(roomId);
      await ben.join(roomId);
      await ana.connectSendTransport();

      // kind 'audio' carrying VP8 would reach the others as an undecodable "microphone".
      const vp8AsMic = failureOf(await ana.request('produce', ana.produceRequest('mic', { rtpParameters: ana.rtpParametersFor('camera') })));
      expect(vp8AsMic.code).toBe('BAD_REQUEST');
      expect(vp8AsMic.message).toContain('VP8');

      // Two camera publishes racing each other: exactly one wins.
      const results = await Promise.all([ana.request('produce', ana.produceRequest('camera')), ana.request('produce', ana.produceRequest('camera'))]);
      expect(results.filter((result) => result.ok)).toHaveLength(1);
      expect(results.filter((result) => !result.ok).map((result) => failureOf(result).code)).toEqual(['BAD_REQUEST']);
      await ben.waitFor('newConsumer');
      expect(ben.notifications('newConsumer')).toHaveLength(1);

      const again = failureOf(await ana.request('connectTransport', { transportId: ana.sendTransportId, dtlsParameters: fakeDtlsParameters() }));
      expect(again.code).toBe('BAD_REQUEST');
    });

    it('restartIce on one’s own transport answers with fresh ICE parameters', async () => {
      const ana = await cast.arrive('Ana');
      const joined = await ana.join(cast.newRoom('ice'));
      for (const transport of [joined.sendTransport, joined.recvTransport]) {
        const { iceParameters } = unwrap(await ana.request('restartIce', { transportId: transport.id }));
        expect(iceParameters.usernameFragment).toEqual(expect.any(String));
        expect(iceParameters.password).toEqual(expect.any(String));
        expect(iceParameters.usernameFragment).not.toBe(transport.iceParameters.usernameFragment);
      }
    });

    it('malformed traffic gets BAD_REQUEST or is ignored, and the server stays up', async () => {
      const roomId = cast.newRoom('fuzz');
      const mallory = await cast.arrive('Mallory');
      const names = Object.keys(Requests) as RequestName[];
      // Requests whose fields are all optional (leave, dataSync, setPolicy…): a missing payload is simply that request.
      const takesNoFields = (name: RequestName): boolean => Requests[name].safeParse({}).success;

      // Payloads that are not objects, before and after joining.
      const notObjects: unknown[] = [null, 42, 'x', [], [{ roomId }], true];
      const check = async (phase: string) => {
        for (const name of names) {
          for (const payload of notObjects) {
            const answer: Result<unknown> = await mallory.rawRequest(name, [payload]);
            if (takesNoFields(name) && payload === null) continue;
            expect(failureOf(answer).code, `${phase} ${name}(${JSON.stringify(payload)})`).toBe('BAD_REQUEST');
          }
          // An acknowledgement with no payload at all.
          const bare = await mallory.rawRequest(name, []);
          if (!takesNoFields(name)) expect(failureOf(bare).code, `${phase} ${name}()`).toBe('BAD_REQUEST');
        }
      };
      await check('in the lobby');
      await mallory.join(roomId);
      await check('joined');
      // `leave(null)` above really left (Mallory was alone, so the room closed); the socket stays up.
      await eventually(async () => (await roomOnServer(roomId)) === undefined, { what: 'the room to close' });
      expect(mallory.connected).toBe(true);

      // Requests without an acknowledgement callback, valid or not.
      for (const name of names) {
        for (const payload of [undefined, null, 42, 'x', [1, 2], { transportId: 7 }]) mallory.rawEmit(name, payload);
      }
      mallory.rawEmit('join', { roomId, displayName: 'Mallory', rtpCapabilities: mallory.joinCapabilities() });
      mallory.rawEmit('noSuchEvent');
      mallory.rawEmit('noSuchEvent', { a: 1 }, 2, 'three');
      // The one valid request among them was carried out, answer or not.
      await eventually(async () => (await roomOnServer(roomId))?.peers.size === 1, { what: 'the ack-less join to take effect' });

      // Big but under the message limit: an ordinary validation error.
      const bigName = failureOf(await mallory.request('join', { roomId, displayName: 'M'.repeat(200_000), rtpCapabilities: mallory.joinCapabilities() }));
      expect(bigName.code).toBe('BAD_REQUEST');
      expect(bigName.message).toContain('displayName');
      expect(bigName.message.length).toBeLessThan(1_000);
      const lobby = await cast.arrive('Lobby');
      const bigRoom = failureOf(await lobby.request('join', { roomId: 'r'.repeat(200_000), displayName: 'Lobby', rtpCapabilities: lobby.joinCapabilities() }));
      expect(bigRoom.code).toBe('BAD_REQUEST');
      expect(bigRoom.message).toContain('roomId');
      expect(bigRoom.message.length).toBeLessThan(1_000);

      // Over the message limit: the server drops that connection and nothing else.
      const flooder = await cast.arrive('Flooder');
      flooder.rawEmit('join', { roomId, displayName: 'F'.repeat(400_000), rtpCapabilities: flooder.joinCapabilities() });
      await expect(Promise.race([flooder.disconnected, new Promise((resolve) => setTimeout(() => resolve('still connected'), 10_000))])).resolves.not.toBe(
        'still connected',
      );

      // The server is alive and serves newcomers as usual.
      const { status, body } = await healthz();
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'ok' });
      const ana = await cast.arrive('Ana');
      const ben = await cast.arrive('Ben');
      const healthyRoom = cast.newRoom('after-the-storm');
      await ana.join(healthyRoom);
      await ben.join(healthyRoom);
      const micId = await ana.produce('mic');
      const consumer = await ben.waitFor('newConsumer', fromProducer(micId));
      unwrap(await ben.request('resumeConsumer', { consumerId: consumer.id }));
      // The fuzzing connection itself still gets answers.
      expect(mallory.connected).toBe(true);
      expect(failureOf(await mallory.rawRequest('noSuchEvent', [])).code).toBe('BAD_REQUEST');
    });
  });
});
