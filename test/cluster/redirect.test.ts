import type { Browser } from 'playwright-core';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../../shared/errors.js';
import type { JoinResponse } from '../../shared/protocol.js';
import { countPresentedFrames, launchLightChromium, leaveAndClose, openParticipant, type ParticipantPage } from '../helpers/browser.js';
import { TestParticipant, failureOf } from '../helpers/participant.js';
import { CLIENT_DIST, eventually, startTestServer, type TestServer } from '../helpers/server.js';
import { loopbackNode, startRedis, type RedisServer } from './redisServer.js';

/**
 * Issue #18, with rooms kept whole (CLUSTER_SPAN_ROOMS=false): everyone of a room meets on the node
 * it lives on. A join reaching another node is answered REDIRECT with that node's public URL; the
 * browser client follows it by itself, from a page served by any node. (Rooms spanning nodes, the
 * default: test/cluster/span.test.ts.) Two whole Conclave servers as nodes of one
 * cluster over a real redis-server, with real Socket.IO clients and real browsers.
 */
/** Turns the Origin check on (as production has it): only the nodes' own origins and this one may connect. */
const LISTED_ORIGIN = 'https://conclave.example.org';

const ADMIN_API_KEY = 'cluster-admin-key-0123456789abcdef';

/** An admin API call to one node, as an operator's script would make it. */
async function admin(node: Node, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Node {
  id: string;
  url: string;
  server: TestServer;
}

async function startNode(id: string, redisUrl: string): Promise<Node> {
  const { url, settings } = await loopbackNode(id, redisUrl, 4);
  const server = await startTestServer({ CLIENT_DIST, CORS_ORIGINS: LISTED_ORIGIN, ADMIN_API_KEY, CLUSTER_SPAN_ROOMS: 'false', ...settings });
  return { id, url, server };
}

/** Asks to join and answers what the node said: joined, or where to go instead. */
async function tryJoin(participant: TestParticipant, roomId: string): Promise<{ joined: JoinResponse } | { redirect: string; message: string }> {
  const result: Result<JoinResponse> = await participant.request('join', {
    roomId,
    displayName: participant.name,
    rtpCapabilities: participant.joinCapabilities(),
  });
  if (result.ok) {
    participant.joined = result.data;
    return { joined: result.data };
  }
  const { code, message, redirect } = result.error;
  if (code !== 'REDIRECT' || redirect === undefined) throw new Error(`${participant.name}: join failed: ${code}: ${message}`);
  return { redirect, message };
}

/** Whether a browser page at `origin` may open Socket.IO to `url`. */
function handshakeAccepted(url: string, origin: string): Promise<boolean> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { origin } });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('connect_error', () => resolve(false));
  }).finally(() => socket.disconnect()) as Promise<boolean>;
}

describe('a cluster of two nodes: joins find the node their room lives on', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  const nodes: Node[] = [];
  const people: TestParticipant[] = [];
  const connect = async (node: Node, name: string): Promise<TestParticipant> => {
    const participant = await TestParticipant.connect(node.url, name);
    people.push(participant);
    return participant;
  };
  const byUrl = (url: string): Node => {
    const node = nodes.find((candidate) => candidate.url === url);
    if (!node) throw new Error(`redirected to ${url}, which is no node of this cluster`);
    return node;
  };
  /** The node that hosts the room, from the directory. */
  const homeOf = async (roomId: string): Promise<Node> => {
    const [host] = await nodes[0]!.server.cluster!.directory.hosts(roomId);
    if (!host) throw new Error(`${roomId} is in no node's directory entry`);
    return nodes.find((node) => node.id === host.node.id)!;
  };

  beforeAll(async () => {
    redis = await startRedis();
    nodes.push(await startNode('node-a', redis.url), await startNode('node-b', redis.url));
    await eventually(() => nodes.every((node) => node.server.cluster?.registry.known().length === 2), { what: 'both nodes to see each other' });
  });
  afterAll(async () => {
    for (const participant of people) participant.socket.disconnect();
    for (const node of nodes) await node.server.close();
    await redis?.stop();
  });

  it('a newcomer at the other node is redirected to the room’s node, joins there and meets everyone', async () => {
    const [a, b] = nodes as [Node, Node];
    // Where the first join lands is placement's choice (the least-loaded node): either is right.
    let ana = await connect(a, 'Ana');
    let first = await tryJoin(ana, 'standup');
    if ('redirect' in first) {
      expect(first.redirect).toBe(b.url);
      ana = await connect(b, 'Ana');
      first = await tryJoin(ana, 'standup');
    }
    expect('joined' in first).toBe(true);
    const home = await eventually(() => homeOf('standup'), { what: 'the room in the directory' });
    const other = home === a ? b : a;

    const ben = await connect(other, 'Ben');
    const sent = await tryJoin(ben, 'standup');
    expect(sent).toMatchObject({ redirect: home.url, message: expect.stringContaining(home.id) as string });
    // Nothing of Ben stayed behind on the node that sent him on.
    expect(other.server.rooms.get('standup')).toBeUndefined();

    const benThere = await connect(home, 'Ben');
    const joined = await tryJoin(benThere, 'standup');
    if (!('joined' in joined)) throw new Error(`Ben was sent on again, to ${joined.redirect}`);
    expect(joined.joined.participants.map((participant) => participant.displayName)).toEqual(['Ana']);
    await ana.waitFor('participantJoined', (payload) => payload.displayName === 'Ben');
    expect(home.server.rooms.get('standup')?.peers.size).toBe(2);
  });

  it('two first joins of a new room arriving at different nodes at once end up on the same node', async () => {
    const [a, b] = nodes as [Node, Node];
    const [cy, dee] = await Promise.all([connect(a, 'Cy'), connect(b, 'Dee')]);
    const answers = await Promise.all([tryJoin(cy, 'all-hands'), tryJoin(dee, 'all-hands')]);
    const landed = answers.map((answer, i) => ('joined' in answer ? nodes[i]! : byUrl(answer.redirect)));
    expect(landed[0]).toBe(landed[1]);
    expect(answers.filter((answer) => 'joined' in answer)).toHaveLength(1);
  });

  it('the admin API of either node answers for the cluster: rooms of every node, and calls about a room carried out on its node', async () => {
    const [a, b] = nodes as [Node, Node];
    let ivy = await connect(a, 'Ivy');
    const first = await tryJoin(ivy, 'board-meeting');
    if ('redirect' in first) {
      ivy = await connect(byUrl(first.redirect), 'Ivy');
      await tryJoin(ivy, 'board-meeting');
    }
    const home = await eventually(() => homeOf('board-meeting'), { what: 'the room in the directory' });
    const other = home === a ? b : a;

    const listed = await admin(other, 'GET', '/rooms');
    expect(listed.status).toBe(200);
    expect(listed.body.unreachable).toEqual([]);
    expect(listed.body.rooms).toContainEqual(expect.objectContaining({ id: 'board-meeting', node: home.id, participants: 1 }));
    // The same list from either node.
    expect((await admin(home, 'GET', '/rooms')).body.rooms).toEqual(listed.body.rooms);

    const described = await admin(other, 'GET', '/rooms/board-meeting');
    expect(described.status).toBe(200);
    expect(described.body.participants).toEqual([expect.objectContaining({ id: ivy.id, name: 'Ivy' })]);

    const locked = await admin(other, 'POST', '/rooms/board-meeting/lock');
    expect(locked).toMatchObject({ status: 200, body: { policy: { locked: true } } });
    await ivy.waitFor('policy', (policy) => policy.locked);

    expect(await admin(other, 'POST', `/rooms/board-meeting/participants/${ivy.id}/role`, { role: 'nobody' })).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST' },
    });
    expect(await admin(other, 'DELETE', `/rooms/board-meeting/participants/${ivy.id}`)).toMatchObject({ status: 200 });
    await ivy.waitFor('removed');
    expect(await admin(other, 'GET', '/rooms/no-such-room')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('pages served by one node may open signalling to another; other origins are still refused', async () => {
    const [a, b] = nodes as [Node, Node];
    expect(await handshakeAccepted(a.url, b.url)).toBe(true);
    expect(await handshakeAccepted(b.url, a.url)).toBe(true);
    expect(await handshakeAccepted(a.url, LISTED_ORIGIN)).toBe(true);
    expect(await handshakeAccepted(a.url, 'https://elsewhere.example')).toBe(false);
  });

  it('with Redis down, a room open on a node still takes joins there, a new room is refused clearly, and joins work again once Redis is back', async () => {
    const [a] = nodes as [Node, Node];
    const eve = await connect(a, 'Eve');
    // A room of its own on node A (a redirect, if placement chose B, is followed first).
    let opened = await tryJoin(eve, 'redis-outage');
    const home = 'redirect' in opened ? byUrl(opened.redirect) : a;
    if ('redirect' in opened) opened = await tryJoin(await connect(home, 'Eve'), 'redis-outage');
    expect('joined' in opened).toBe(true);

    await redis.kill();
    try {
      const fay = await connect(home, 'Fay');
      expect('joined' in (await tryJoin(fay, 'redis-outage'))).toBe(true);
      const gus = await connect(home, 'Gus');
      const refused = failureOf(await gus.request('join', { roomId: 'new-during-outage', displayName: 'Gus', rtpCapabilities: gus.joinCapabilities() }));
      expect(refused.code).toBe('UNAVAILABLE');
      expect(refused.message).toMatch(/Redis/);
    } finally {
      await redis.restart();
    }
    // Joined, or sent to the node placement chose: either way the directory answers again.
    const hal = await connect(home, 'Hal');
    await eventually(
      async () => {
        const result = await hal.request('join', { roomId: 'after-outage', displayName: 'Hal', rtpCapabilities: hal.joinCapabilities() });
        return result.ok || result.error.code === 'REDIRECT' || undefined;
      },
      { what: 'joins to work again after Redis came back', timeoutMs: 20_000, intervalMs: 500 },
    );
  });

  describe('in browsers', () => {
    let browser: Browser;
    const pages: ParticipantPage[] = [];
    beforeAll(async () => {
      browser = await launchLightChromium();
    });
    afterAll(async () => {
      for (const page of pages) await leaveAndClose(page).catch(() => undefined);
      await browser?.close();
    });

    it('people opening the room at different nodes see each other’s cameras and chat', async () => {
      const [a, b] = nodes as [Node, Node];
      const ana = await openParticipant(browser, a.url, 'review', 'Ana');
      pages.push(ana);
      const home = await eventually(() => homeOf('review'), { what: 'the room in the directory' });
      // Ben opens the page of the node the room does not live on: his client follows the redirect.
      const other = home === a ? b : a;
      const ben = await openParticipant(browser, other.url, 'review', 'Ben');
      pages.push(ben);
      expect(home.server.rooms.get('review')?.peers.size).toBe(2);
      expect(other.server.rooms.get('review')).toBeUndefined();

      const ids = { ana: (await ana.state()).self!.id, ben: (await ben.state()).self!.id };
      const anaFrames = await eventually(
        async () => ((await ana.state()).consumers.some((c) => c.peerId === ids.ben && c.source === 'camera') ? true : undefined),
        {
          what: "Ana to receive Ben's camera",
          timeoutMs: 30_000,
        },
      ).then(() => countPresentedFrames(ana, [ids.ben]));
      const benFrames = await eventually(
        async () => ((await ben.state()).consumers.some((c) => c.peerId === ids.ana && c.source === 'camera') ? true : undefined),
        {
          what: "Ben to receive Ana's camera",
          timeoutMs: 30_000,
        },
      ).then(() => countPresentedFrames(ben, [ids.ana]));
      await eventually(async () => ((await anaFrames())[ids.ben] ?? 0) >= 10 || undefined, { what: "Ana's page to present Ben's video", timeoutMs: 30_000 });
      await eventually(async () => ((await benFrames())[ids.ana] ?? 0) >= 10 || undefined, { what: "Ben's page to present Ana's video", timeoutMs: 30_000 });

      await ben.page.evaluate(() => window.conclave!.dataReady());
      await ana.page.evaluate(() => window.conclave!.dataReady());
      await ben.page.evaluate(() => window.conclave!.chat.send('hello from the other node'));
      await eventually(
        async () =>
          (await ana.page.evaluate(() => window.conclave!.chat.messages())).some((message) => message.text === 'hello from the other node') || undefined,
        {
          what: "Ben's message to reach Ana",
        },
      );
    });
  });
});
