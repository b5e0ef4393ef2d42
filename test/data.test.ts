// Over ~350 lines on purpose: the server's data plane (channels, chat, whiteboard, fast messages,
// files), one describe each, over one server fixture.
import type { types } from 'mediasoup';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { BOARD_MAX_POINTS, CHAT_HISTORY, DATA_LABELS, encodeChunk, type DataLabel } from '../shared/data.js';
import type { Notifications, RequestOf } from '../shared/protocol.js';
import { Whiteboard } from '../server/src/data/Whiteboard.js';
import type { Peer } from '../server/src/rooms/Peer.js';
import type { Room } from '../server/src/rooms/Room.js';
import { failureOf, TestParticipant, unwrap } from './helpers/participant.js';
import { eventually, useServer } from './helpers/server.js';

/**
 * The server side of the data channels as participants meet it: real Socket.IO clients against a
 * real server and mediasoup workers. Node has no SCTP stack, so a participant's channel is a
 * DataProducer on a DirectTransport of the room's router, handed to the room's DataHub exactly as
 * a browser's channel is after produceData; what the room forwards is read the same way, from a
 * DataConsumer of the room's own DataProducer. Everything between is the production path.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const MAX_FILE_MB = 1;

describe('data channels on the server', () => {
  // The data plane's own limits are under test, not the signalling request budget.
  const server = useServer({ RATE_LIMIT_PER_SECOND: '10000', RATE_LIMIT_BURST: '100000', MAX_FILE_MB: String(MAX_FILE_MB) });
  const everyone: TestParticipant[] = [];
  const transports: types.DirectTransport[] = [];
  let rooms = 0;

  afterEach(async () => {
    for (const transport of transports.splice(0)) transport.close();
    await Promise.all(everyone.splice(0).map((participant) => participant.close()));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'every room to close after the test' });
  });

  function newRoom(label: string): string {
    rooms += 1;
    return `${label}-${rooms}`;
  }

  /**
   * A participant in `roomId` whose transports carry data channels (as a browser's do), once the
   * room announced its four channels to it (a browser syncs only after opening them).
   */
  async function joinWithData(name: string, roomId: string, sctp = true): Promise<TestParticipant> {
    const participant = await TestParticipant.connect(server.url, name);
    everyone.push(participant);
    const request: RequestOf<'join'> = { roomId, displayName: name, rtpCapabilities: participant.joinCapabilities() };
    participant.joined = unwrap(await participant.request('join', { ...request, dataChannels: sctp }), `${name} join`);
    if (sctp) await eventually(() => participant.notifications('newDataConsumer').length === DATA_LABELS.length, { what: `${name}’s data consumers` });
    return participant;
  }

  async function roomOnServer(roomId: string): Promise<Room> {
    const room = (await server.rooms.list()).find((candidate) => candidate.id === roomId);
    if (!room) throw new Error(`no room ${roomId}`);
    return room;
  }

  function peerOf(room: Room, participant: TestParticipant): Peer {
    const peer = room.peers.get(participant.id);
    if (!peer) throw new Error(`${participant.name} is not in ${room.id}`);
    return peer;
  }

  /** A channel of `participant` the room reads, fed through the worker like a browser's. */
  async function channelOf(room: Room, participant: TestParticipant, label: DataLabel): Promise<types.DataProducer> {
    const transport = await room.router.createDirectTransport();
    transports.push(transport);
    const producer = await transport.produceData({ label });
    await room.data.attach(peerOf(room, participant), label, producer);
    return producer;
  }

  /** Everything the room forwards on each label, as its participants' consumers get it. */
  async function listenTo(room: Room): Promise<Record<DataLabel, unknown[]>> {
    const transport = await room.router.createDirectTransport();
    transports.push(transport);
    const heard = { chat: [], board: [], file: [], fast: [] } as Record<DataLabel, unknown[]>;
    for (const label of DATA_LABELS) {
      const consumer = await transport.consumeData({ dataProducerId: room.data.producerId(label)! });
      consumer.on('message', (message) => heard[label].push(JSON.parse(message.toString('utf8'))));
    }
    return heard;
  }

  /** People in a new room with data channels, and an ear on everything the room forwards. */
  async function meeting<const Names extends readonly string[]>(
    label: string,
    ...names: Names
  ): Promise<{ roomId: string; room: Room; heard: Record<DataLabel, unknown[]>; people: { [K in keyof Names]: TestParticipant } }> {
    const roomId = newRoom(label);
    const people: TestParticipant[] = [];
    for (const name of names) people.push(await joinWithData(name, roomId));
    const room = await roomOnServer(roomId);
    // One participant per name, in order.
    return { roomId, room, heard: await listenTo(room), people: people as { [K in keyof Names]: TestParticipant } };
  }

  /** The first refusal with this label and code (already received or still to come). */
  function refusal(participant: TestParticipant, label: DataLabel, code: string): Promise<Notifications['dataRejected']> {
    return participant.waitFor('dataRejected', (rejection) => rejection.label === label && rejection.code === code, 5000);
  }

  const seen = (count: number) => ({ what: `${count} forwarded messages`, timeoutMs: 5000 });

  describe('opening channels', () => {
    it('a participant that announces SCTP gets data-capable transports and the room’s four channels', async () => {
      const roomId = newRoom('channels');
      const ana = await joinWithData('Ana', roomId);
      for (const transport of [ana.joined!.sendTransport, ana.joined!.recvTransport]) {
        expect(transport.sctpParameters).toEqual({ port: 5000, maxSendMessageSize: 262_144, maxReceiveMessageSize: 262_144 });
      }
      const consumers = ana.notifications('newDataConsumer');
      expect(consumers.map((consumer) => consumer.label).sort()).toEqual(['board', 'chat', 'fast', 'file']);
      for (const consumer of consumers) {
        expect(consumer.transportId).toBe(ana.recvTransportId);
        const fast = consumer.label === 'fast';
        expect(consumer.sctpStreamParameters.ordered).toBe(!fast);
        expect(consumer.sctpStreamParameters.maxPacketLifeTime).toBe(fast ? 150 : undefined);
      }
      // Ready for the history once the consumers exist: nothing said yet, an empty board.
      expect(unwrap(await ana.request('dataSync', {}))).toEqual({ seq: 0, chat: [], board: [], maxFileBytes: MAX_FILE_MB * 1024 * 1024 });
    });

    it('a participant without SCTP joins as before and is told data channels are not for it', async () => {
      const roomId = newRoom('no-sctp');
      const bo = await joinWithData('Bo', roomId, false);
      expect(bo.joined!.sendTransport.sctpParameters).toBeUndefined();
      const request = { transportId: bo.sendTransportId, label: 'chat', sctpStreamParameters: { streamId: 0, ordered: true } } as const;
      expect(failureOf(await bo.request('produceData', request)).code).toBe('UNSUPPORTED');
      expect(failureOf(await bo.request('dataSync', {})).code).toBe('UNSUPPORTED');
      await sleep(200);
      expect(bo.notifications('newDataConsumer')).toEqual([]);
    });

    it('produceData is checked: own send transport, known label, the label’s reliability, one channel per label', async () => {
      const roomId = newRoom('produce-data');
      const ana = await joinWithData('Ana', roomId);
      const produce = (overrides: Partial<RequestOf<'produceData'>>) =>
        ana.request('produceData', { transportId: ana.sendTransportId, label: 'chat', sctpStreamParameters: { streamId: 1, ordered: true }, ...overrides });

      expect(failureOf(await produce({ transportId: ana.recvTransportId })).code).toBe('FORBIDDEN');
      expect(failureOf(await produce({ transportId: 'not-a-transport' })).code).toBe('NOT_FOUND');
      expect(
        failureOf(await ana.rawRequest('produceData', [{ transportId: ana.sendTransportId, label: 'video', sctpStreamParameters: { streamId: 1 } }])).code,
      ).toBe('BAD_REQUEST');
      expect(failureOf(await produce({ sctpStreamParameters: { streamId: 70_000 } })).code).toBe('BAD_REQUEST');
      expect(failureOf(await produce({ sctpStreamParameters: { streamId: 1, ordered: false } })).message).toMatch(/ordered and reliable/);
      expect(failureOf(await produce({ label: 'fast', sctpStreamParameters: { streamId: 2, ordered: true } })).message).toMatch(/unordered/);
      expect(failureOf(await produce({ label: 'fast', sctpStreamParameters: { streamId: 2, ordered: false, maxRetransmits: 3 } })).code).toBe('BAD_REQUEST');

      expect(unwrap(await produce({})).dataProducerId).toEqual(expect.any(String));
      expect(failureOf(await produce({ sctpStreamParameters: { streamId: 3, ordered: true } })).message).toMatch(/already have a chat channel/);
      expect(failureOf(await produce({ label: 'board', sctpStreamParameters: { streamId: 1, ordered: true } })).message).toMatch(/stream 1 is already in use/);
      // mediasoup's SCTP stack negotiates every stream; 65535 is reserved (RFC 8831), so 65534 is the last.
      expect(failureOf(await produce({ label: 'board', sctpStreamParameters: { streamId: 65_535, ordered: true } })).code).toBe('BAD_REQUEST');
      expect(unwrap(await produce({ label: 'fast', sctpStreamParameters: { streamId: 2, ordered: false, maxRetransmits: 0 } })).dataProducerId).toEqual(
        expect.any(String),
      );
      const dump = await (await roomOnServer(roomId)).router.dump();
      // The room's four channels and Ana's two; Ana's four consumers of the room's and the room's two taps of hers.
      expect(dump.mapDataProducerIdDataConsumerIds).toHaveLength(6);
      expect(dump.mapDataConsumerIdDataProducerId).toHaveLength(6);
    });

    it('requests need a joined participant', async () => {
      const lone = await TestParticipant.connect(server.url, 'Lone');
      everyone.push(lone);
      expect(failureOf(await lone.request('dataSync', {})).code).toBe('NOT_JOINED');
      expect(failureOf(await lone.request('offerFile', { name: 'a.txt', type: 'text/plain', size: 1 })).code).toBe('NOT_JOINED');
    });
  });

  describe('chat', () => {
    it('is stamped with its sender, forwarded to the room as sent, and given to whoever joins later', async () => {
      const {
        roomId,
        room,
        heard,
        people: [ana],
      } = await meeting('chat', 'Ana');
      const chat = await channelOf(room, ana, 'chat');

      const before = Date.now();
      chat.send(JSON.stringify({ text: '  <b>hello</b> & welcome  ' }));
      await eventually(() => heard.chat.length === 1, seen(1));
      expect(heard.chat[0]).toEqual({ seq: 1, from: ana.id, name: 'Ana', at: expect.any(Number), text: '<b>hello</b> & welcome' });
      expect((heard.chat[0] as { at: number }).at).toBeGreaterThanOrEqual(before);

      const cy = await joinWithData('Cy', roomId);
      const history = unwrap(await cy.request('dataSync', {}));
      expect(history.seq).toBe(1);
      expect(history.chat).toEqual(heard.chat);
    });

    it('posts a message resent with the same nonce once (a resend after a reset), and tells everyone its nonce', async () => {
      const {
        room,
        heard,
        people: [ana, ben],
      } = await meeting('chat-resend', 'Ana', 'Ben');
      const [anaChat, benChat] = await Promise.all([channelOf(room, ana, 'chat'), channelOf(room, ben, 'chat')]);
      const first = JSON.stringify({ text: 'did this get through?', nonce: 'nonce-0001' });
      anaChat.send(first);
      anaChat.send(first);
      anaChat.send(JSON.stringify({ text: 'did this get through?', nonce: 'nonce-0002' }));
      // The same nonce from someone else is the same message too: nonces are random per message.
      benChat.send(JSON.stringify({ text: 'copy', nonce: 'nonce-0001' }));
      benChat.send(JSON.stringify({ text: 'marker' }));
      await eventually(() => heard.chat.some((message) => (message as { text: string }).text === 'marker'), { what: 'the marker' });
      expect(heard.chat.map((message) => [(message as { text: string }).text, (message as { nonce?: string }).nonce])).toEqual([
        ['did this get through?', 'nonce-0001'],
        ['did this get through?', 'nonce-0002'],
        ['marker', undefined],
      ]);
      expect(ana.notifications('dataRejected')).toEqual([]);
      expect(unwrap(await ben.request('dataSync', {})).chat).toHaveLength(3);
    });

    it(`keeps the last ${CHAT_HISTORY} messages`, async () => {
      const { room, heard, people: talkers } = await meeting('history', 'A', 'B', 'C', 'D', 'E', 'F');
      // Each participant's burst allowance is 20 messages: six of them say 120 in all.
      for (const [index, talker] of talkers.entries()) {
        const chat = await channelOf(room, talker, 'chat');
        for (let n = 0; n < 20; n++) chat.send(JSON.stringify({ text: `${talker.name}${n}` }));
        await eventually(() => heard.chat.length === 20 * (index + 1), seen(20 * (index + 1)));
      }
      await eventually(() => heard.chat.length === 120, seen(120));
      const history = unwrap(await talkers[0].request('dataSync', {}));
      expect(history.chat).toHaveLength(CHAT_HISTORY);
      expect(history.chat.map((message) => message.seq)).toEqual(Array.from({ length: CHAT_HISTORY }, (_, i) => 21 + i));
      expect(history.chat.at(-1)?.text).toBe('F19');
    });

    it('refuses what is not a chat message, says why, and forwards none of it', async () => {
      const {
        room,
        heard,
        people: [ana],
      } = await meeting('bad-chat', 'Ana');
      const chat = await channelOf(room, ana, 'chat');

      const cases: [string | Buffer, string, RegExp][] = [
        ['hello', 'BAD_REQUEST', /not JSON/],
        [JSON.stringify({ text: '   ' }), 'BAD_REQUEST', /empty/],
        [JSON.stringify({ text: 'x'.repeat(2001) }), 'BAD_REQUEST', /at most 2000/],
        [JSON.stringify({ text: 'hi', html: '<img>' }), 'BAD_REQUEST', /html/],
        [JSON.stringify({ text: 'evil\u202Etxt.exe' }), 'BAD_REQUEST', /control characters/],
        [JSON.stringify({ text: 'hi', nonce: 'not a nonce' }), 'BAD_REQUEST', /nonce/],
        [Buffer.from(JSON.stringify({ text: 'binary' })), 'BAD_REQUEST', /JSON text/],
        [JSON.stringify({ text: 'y'.repeat(9000) }), 'TOO_LARGE', /at most 8192 bytes/],
      ];
      // Refusal notices of one kind are spaced by the server's clock (Date.now): the test moves it
      // on past the spacing rather than waiting it out.
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
      onTestFinished(() => {
        vi.useRealTimers();
      });
      for (const [message, code, reason] of cases) {
        const before = ana.notifications('dataRejected').length;
        chat.send(message);
        const rejection = await eventually(() => ana.notifications('dataRejected')[before], { what: `refusal of ${String(message).slice(0, 30)}` });
        expect(rejection).toMatchObject({ label: 'chat', code });
        expect(rejection.message).toMatch(reason);
        // Refusal notices of one kind are spaced, so a flood cannot become a flood of notices.
        vi.advanceTimersByTime(300);
      }
      expect(heard.chat).toEqual([]);
      chat.send(JSON.stringify({ text: 'line one\nline two 👩‍💻' }));
      await eventually(() => heard.chat.length === 1, seen(1));
    });

    it('is rate-limited per participant: a burst goes through, the rest is refused', async () => {
      // Each participant's chat budget refills by the process clock (performance.now): it runs on as
      // usual, and the test moves it on for the pause instead of sleeping through it.
      vi.useFakeTimers({ toFake: ['performance'], shouldAdvanceTime: true });
      onTestFinished(() => {
        vi.useRealTimers();
      });
      const {
        room,
        heard,
        people: [ana, ben],
      } = await meeting('chat-flood', 'Ana', 'Ben');
      const [anaChat, benChat] = await Promise.all([channelOf(room, ana, 'chat'), channelOf(room, ben, 'chat')]);
      for (let n = 0; n < 60; n++) anaChat.send(JSON.stringify({ text: `flood ${n}`, nonce: `flood-nonce-${n}` }));
      const rejection = await refusal(ana, 'chat', 'RATE_LIMITED');
      expect(rejection.message).toMatch(/slow down/);
      await sleep(300);
      const forwarded = heard.chat.length;
      expect(forwarded).toBeGreaterThanOrEqual(20);
      expect(forwarded).toBeLessThan(25);
      // Ana's flood does not spend Ben's allowance.
      benChat.send(JSON.stringify({ text: 'still here' }));
      await eventually(() => heard.chat.length === forwarded + 1, seen(forwarded + 1));
      expect(ben.notifications('dataRejected')).toEqual([]);
      // The refusal notice names the message, so the client will not send it again…
      expect(rejection.nonce).toMatch(/^flood-nonce-\d+$/);
      // …and if it does (a resend after a reset), it stays refused and costs none of the new allowance:
      // the whole flood sent again, then one new message, which goes through.
      vi.advanceTimersByTime(1_000);
      for (let n = 0; n < 60; n++) anaChat.send(JSON.stringify({ text: `flood ${n}`, nonce: `flood-nonce-${n}` }));
      anaChat.send(JSON.stringify({ text: 'new', nonce: 'new-nonce-1' }));
      await eventually(() => heard.chat.length === forwarded + 2, seen(forwarded + 2));
      expect((heard.chat.at(-1) as { text: string }).text).toBe('new');
      await sleep(300);
      expect(heard.chat).toHaveLength(forwarded + 2);
    });

    it('stays in its room', async () => {
      const [roomA, roomB] = [newRoom('room-a'), newRoom('room-b')];
      const ana = await joinWithData('Ana', roomA);
      const ben = await joinWithData('Ben', roomB);
      const [a, b] = await Promise.all([roomOnServer(roomA), roomOnServer(roomB)]);
      const [heardA, heardB] = await Promise.all([listenTo(a), listenTo(b)]);
      (await channelOf(a, ana, 'chat')).send(JSON.stringify({ text: 'for room A only' }));
      (await channelOf(a, ana, 'fast')).send(JSON.stringify({ topic: 'cursor', data: { x: 1, y: 2 } }));
      await eventually(() => heardA.chat.length === 1 && heardA.fast.length === 1, seen(2));
      await sleep(200);
      expect(heardB.chat).toEqual([]);
      expect(heardB.fast).toEqual([]);
      expect(unwrap(await ben.request('dataSync', {})).chat).toEqual([]);
    });
  });

  describe('whiteboard', () => {
    it('keeps every stroke since the last clear, by author, for whoever joins later', async () => {
      const {
        roomId,
        room,
        heard,
        people: [ana, ben],
      } = await meeting('board', 'Ana', 'Ben');
      const [anaBoard, benBoard] = await Promise.all([channelOf(room, ana, 'board'), channelOf(room, ben, 'board')]);

      anaBoard.send(JSON.stringify({ t: 'begin', id: 1, tool: 'pen', color: '#ff0000', size: 4, points: [10, 10, 20, 20] }));
      anaBoard.send(JSON.stringify({ t: 'extend', id: 1, points: [30, 30] }));
      benBoard.send(JSON.stringify({ t: 'begin', id: 1, tool: 'eraser', color: '#000000', size: 24, points: [15, 15] }));
      await eventually(() => heard.board.length === 3, seen(3));
      expect(heard.board[0]).toEqual({ t: 'begin', id: 1, tool: 'pen', color: '#ff0000', size: 4, points: [10, 10, 20, 20], seq: 1, by: ana.id });
      expect(heard.board[1]).toEqual({ t: 'extend', id: 1, points: [30, 30], seq: 2, by: ana.id });

      const cy = await joinWithData('Cy', roomId);
      const { seq, board } = unwrap(await cy.request('dataSync', {}));
      expect(seq).toBe(3);
      expect(board).toEqual([
        { by: ana.id, id: 1, tool: 'pen', color: '#ff0000', size: 4, points: [10, 10, 20, 20, 30, 30] },
        { by: ben.id, id: 1, tool: 'eraser', color: '#000000', size: 24, points: [15, 15] },
      ]);

      benBoard.send(JSON.stringify({ t: 'clear' }));
      await eventually(() => heard.board.length === 4, seen(4));
      expect(unwrap(await cy.request('dataSync', {})).board).toEqual([]);
    });

    it('refuses strokes that are malformed, out of bounds or someone else’s', async () => {
      const {
        room,
        heard,
        people: [ana, ben],
      } = await meeting('bad-board', 'Ana', 'Ben');
      const [anaBoard, benBoard] = await Promise.all([channelOf(room, ana, 'board'), channelOf(room, ben, 'board')]);
      anaBoard.send(JSON.stringify({ t: 'begin', id: 7, tool: 'pen', color: '#00ff00', size: 2, points: [1, 1] }));
      await eventually(() => heard.board.length === 1, seen(1));

      benBoard.send(JSON.stringify({ t: 'extend', id: 7, points: [5, 5] }));
      expect((await refusal(ben, 'board', 'NOT_FOUND')).message).toMatch(/No stroke 7 of yours/);
      const cases: [object, RegExp][] = [
        [{ t: 'begin', id: 8, tool: 'pen', color: 'red', size: 2, points: [1, 1] }, /colour/],
        [{ t: 'begin', id: 8, tool: 'pen', color: '#ff0000', size: 2, points: [1, 901] }, /y is at most 900/],
        [{ t: 'begin', id: 8, tool: 'pen', color: '#ff0000', size: 2, points: [1, 2, 3] }, /pairs/],
        [{ t: 'begin', id: 8, tool: 'laser', color: '#ff0000', size: 2, points: [1, 2] }, /tool/],
        [{ t: 'begin', id: 7, tool: 'pen', color: '#ff0000', size: 2, points: [1, 2] }, /already exists/],
      ];
      // Refusal notices of one kind are spaced by the server's clock (Date.now): the test moves it
      // on past the spacing rather than waiting it out.
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
      onTestFinished(() => {
        vi.useRealTimers();
      });
      for (const [op, reason] of cases) {
        const before = ana.notifications('dataRejected').length;
        anaBoard.send(JSON.stringify(op));
        const rejection = await eventually(() => ana.notifications('dataRejected')[before], { what: `refusal of ${JSON.stringify(op)}` });
        expect(rejection.message).toMatch(reason);
        vi.advanceTimersByTime(300);
      }
      expect(heard.board).toHaveLength(1);
    });

    it('fills up: beyond its bound, new strokes are refused until it is cleared', () => {
      const board = new Whiteboard();
      const points = Array.from({ length: 1000 }, (_, i) => i % 900);
      for (let id = 0; id < BOARD_MAX_POINTS / 500; id++) board.apply('ana', { t: 'begin', id, tool: 'pen', color: '#123456', size: 3, points });
      expect(() => board.apply('ana', { t: 'begin', id: 100_000, tool: 'pen', color: '#123456', size: 3, points: [1, 1] })).toThrow(/full/);
      board.apply('ben', { t: 'clear' });
      expect(board.snapshot()).toEqual([]);
      board.apply('ana', { t: 'begin', id: 100_000, tool: 'pen', color: '#123456', size: 3, points: [1, 1] });
      expect(board.snapshot()).toHaveLength(1);
    });
  });

  describe('fast messages', () => {
    it('forwards small JSON with its sender and refuses what is too big or badly addressed', async () => {
      const {
        room,
        heard,
        people: [ana],
      } = await meeting('fast', 'Ana');
      const fast = await channelOf(room, ana, 'fast');
      fast.send(JSON.stringify({ topic: 'game.move', data: { dx: -1, dy: 0, keys: ['left'] } }));
      await eventually(() => heard.fast.length === 1, seen(1));
      expect(heard.fast[0]).toEqual({ from: ana.id, name: 'Ana', at: expect.any(Number), topic: 'game.move', data: { dx: -1, dy: 0, keys: ['left'] } });

      fast.send(JSON.stringify({ topic: 'blob', data: 'z'.repeat(1100) }));
      expect((await refusal(ana, 'fast', 'TOO_LARGE')).message).toMatch(/at most 1024 bytes/);
      fast.send(JSON.stringify({ topic: '../etc', data: 1 }));
      expect((await refusal(ana, 'fast', 'BAD_REQUEST')).message).toMatch(/topic/);
      await sleep(200);
      expect(heard.fast).toHaveLength(1);
    });
  });

  describe('files', () => {
    it('an offer is checked: size limit, name, and open data channels', async () => {
      const roomId = newRoom('offers');
      const ana = await joinWithData('Ana', roomId);
      const offer = (overrides: Partial<RequestOf<'offerFile'>>) => ana.request('offerFile', { name: 'notes.txt', type: 'text/plain', size: 10, ...overrides });

      expect(failureOf(await offer({})).message).toMatch(/not open yet/);
      unwrap(await ana.request('dataSync', {}));
      const tooLarge = failureOf(await offer({ size: MAX_FILE_MB * 1024 * 1024 + 1 }));
      expect(tooLarge.code).toBe('TOO_LARGE');
      expect(tooLarge.message).toMatch(/limited to 1\.0 MiB/);
      expect(failureOf(await offer({ name: '../../etc/passwd' })).message).toMatch(/slashes/);
      expect(failureOf(await offer({ name: 'invoice\u202Efdp.exe' })).message).toMatch(/bidi/);
      expect(failureOf(await offer({ type: '<script>' })).message).toMatch(/MIME/);
      expect(failureOf(await offer({ size: -1 })).code).toBe('BAD_REQUEST');

      const accepted = unwrap(await offer({}));
      expect(accepted).toEqual({ fileId: expect.any(Number), chunkBytes: 65_536, windowBytes: 1_048_576 });
      unwrap(await offer({}));
      unwrap(await offer({}));
      expect(failureOf(await offer({})).code).toBe('RATE_LIMITED');
      unwrap(await ana.request('cancelFile', { fileId: accepted.fileId }));
      unwrap(await offer({}));
      expect(failureOf(await ana.request('cancelFile', { fileId: 999_999 })).code).toBe('NOT_FOUND');
    });

    it('stops a transfer that sends more than it announced, out of order, or for someone else’s file', async () => {
      const roomId = newRoom('bad-chunks');
      const ana = await joinWithData('Ana', roomId);
      const ben = await joinWithData('Ben', roomId);
      unwrap(await ana.request('dataSync', {}));
      const room = await roomOnServer(roomId);
      const [anaFile, benFile] = await Promise.all([channelOf(room, ana, 'file'), channelOf(room, ben, 'file')]);
      const chunk = (fileId: number, seq: number, bytes: number) => Buffer.from(encodeChunk(fileId, seq, new Uint8Array(bytes)));

      const small = unwrap(await ana.request('offerFile', { name: 'small.bin', type: '', size: 100 }));
      benFile.send(chunk(small.fileId, 0, 10));
      expect((await refusal(ben, 'file', 'NOT_FOUND')).message).toMatch(`No transfer ${small.fileId} of yours`);
      anaFile.send(chunk(small.fileId, 0, 150));
      const oversize = await refusal(ana, 'file', 'TOO_LARGE');
      expect(oversize).toMatchObject({ fileId: small.fileId });
      expect(oversize.message).toMatch(/More than the announced 100 B/);
      // The transfer is over: it cannot be cancelled any more, and late chunks are dropped quietly.
      expect(failureOf(await ana.request('cancelFile', { fileId: small.fileId })).code).toBe('NOT_FOUND');

      const skipping = unwrap(await ana.request('offerFile', { name: 'skip.bin', type: 'application/octet-stream', size: 1000 }));
      anaFile.send(chunk(skipping.fileId, 1, 10));
      const outOfOrder = await refusal(ana, 'file', 'BAD_REQUEST');
      expect(outOfOrder).toMatchObject({ fileId: skipping.fileId });
      expect(outOfOrder.message).toMatch(/Chunk 1 arrived where 0 was expected/);

      anaFile.send(JSON.stringify({ not: 'binary' }));
      await eventually(() => ana.notifications('dataRejected').some((rejection) => /binary chunks/.test(rejection.message)), {
        what: 'text on the file channel refused',
      });
    });
  });
});
