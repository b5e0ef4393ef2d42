import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPresentedFrames, launchLightChromium, leaveAndClose, openParticipant, type ParticipantPage } from '../helpers/browser.js';
import { CLIENT_DIST, eventually, startTestServer, type TestServer } from '../helpers/server.js';
import { loopbackNode, startRedis, type RedisServer } from './redisServer.js';

/**
 * Issue #18: a room spans nodes. Three whole Conclave servers, nodes of one cluster over a real
 * redis-server, and real browsers: people opening one room at different nodes stay on the node they
 * reached, and see, hear and chat with each other through media piped between the nodes (each
 * producer crossing to each node once). Presence, hands and moderation follow across nodes.
 * (Nodes on hosts of their own, killed and stopped: failover.test.ts.)
 */
interface Node {
  id: string;
  url: string;
  server: TestServer;
}

const ROOM = 'span';
const ADMIN_API_KEY = 'span-admin-key-0123456789abcdef-0123456789';
const WEBHOOK_SECRET = 'span-webhook-secret-0123456789abcdef-01234567';

describe('a room spanning three nodes', { timeout: 180_000 }, () => {
  let redis: RedisServer;
  let browser: Browser;
  const nodes: Node[] = [];
  const pages: ParticipantPage[] = [];
  /** Every webhook event any node sent: a receiver as an operator would run one. */
  const hooks: { event: string; room: string }[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      hooks.push(JSON.parse(body) as { event: string; room: string });
      response.writeHead(204).end();
    });
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    redis = await startRedis();
    for (const id of ['span-a', 'span-b', 'span-c']) {
      const { url, settings } = await loopbackNode(id, redis.url, 4);
      nodes.push({ id, url, server: await startTestServer({ CLIENT_DIST, ADMIN_API_KEY, WEBHOOK_URLS: hookUrl, WEBHOOK_SECRET, ...settings }) });
    }
    await eventually(() => nodes.every((node) => node.server.cluster?.registry.known().length === 3), { what: 'the nodes to see each other' });
    browser = await launchLightChromium();
  });
  afterAll(async () => {
    for (const page of pages) await leaveAndClose(page).catch(() => undefined);
    await browser?.close();
    for (const node of nodes) await node.server.close();
    await redis?.stop();
    receiver.close();
  });

  const roomOn = (node: Node) => node.server.rooms.get(ROOM);
  const idOf = async (page: ParticipantPage): Promise<string> => (await page.state()).self!.id;

  it('people opening the room at three nodes stay there, and all see, hear and chat with each other', async () => {
    const ana = await openParticipant(browser, nodes[0]!.url, ROOM, 'Ana');
    pages.push(ana);
    // A new room goes to the least-loaded node (Ana's client follows there); the others open it at the two other nodes.
    const home = await eventually(() => nodes.find((node) => roomOn(node)?.peers.size === 1), { what: "Ana's room to open" });
    const [first, second] = nodes.filter((node) => node !== home) as [Node, Node];
    const ben = await openParticipant(browser, first.url, ROOM, 'Ben');
    pages.push(ben);
    const cy = await openParticipant(browser, second.url, ROOM, 'Cy');
    pages.push(cy);
    for (const node of nodes) expect(roomOn(node)?.peers.size, `one participant on ${node.id}`).toBe(1);

    const ids = await Promise.all(pages.map(idOf));
    for (const [i, viewer] of pages.entries()) {
      const others = ids.filter((_, j) => j !== i);
      await eventually(
        async () => {
          const { participants, consumers } = await viewer.state();
          const listed = others.every((id) => participants.some((participant) => participant.id === id));
          const receiving = others.every((id) => ['camera', 'mic'].every((source) => consumers.some((c) => c.peerId === id && c.source === source)));
          return (listed && receiving) || undefined;
        },
        { what: `${viewer.name} to list and receive both others`, timeoutMs: 30_000 },
      );
      const presented = await countPresentedFrames(viewer, others);
      await eventually(
        async () => {
          const counts = await presented();
          return others.every((id) => (counts[id] ?? 0) >= 10) || undefined;
        },
        {
          what: `${viewer.name}'s page to present both others' video`,
          timeoutMs: 30_000,
        },
      );
      // Audio: decoded samples keep arriving from both others.
      const before = await viewer.stats();
      await eventually(
        async () => {
          const now = await viewer.stats();
          const samples = (stats: typeof before, id: string) => stats.consumers.find((c) => c.peerId === id && c.source === 'mic')?.totalSamplesReceived ?? 0;
          return others.every((id) => samples(now, id) > samples(before, id)) || undefined;
        },
        { what: `${viewer.name} to hear both others`, timeoutMs: 15_000 },
      );
    }
    // Each producer crossed to each node that needs it once: every node pulls the other two's camera and microphone.
    for (const node of nodes) expect(node.server.cluster!.pipes.counts, node.id).toEqual({ incoming: 4, outgoing: 4 });

    await Promise.all(pages.map((page) => page.page.evaluate(() => window.conclave!.dataReady())));
    await ben.page.evaluate(() => window.conclave!.chat.send('hello across nodes'));
    for (const reader of [ana, cy]) {
      await eventually(
        async () => (await reader.page.evaluate(() => window.conclave!.chat.messages())).some((message) => message.text === 'hello across nodes') || undefined,
        { what: `Ben's message to reach ${reader.name}` },
      );
    }

    // A hand raised on one node is seen on the others.
    await cy.page.evaluate(() => window.conclave!.raiseHand());
    const cyId = ids[2]!;
    for (const viewer of [ana, ben]) {
      await eventually(async () => (await viewer.state()).participants.some((p) => p.id === cyId && p.handRaisedAt !== null) || undefined, {
        what: `${viewer.name} to see Cy's hand`,
      });
    }
    // The first in is the host, once for the whole room: nobody else became host on their own node.
    const roles = (await ana.state()).participants.map((participant) => participant.role);
    expect((await ana.state()).role).toBe('host');
    expect(roles).toEqual(['participant', 'participant']);
  });

  it('a host on one node mutes a participant on another and makes them moderator, seen on the third', async () => {
    const [ana, ben, cy] = pages as [ParticipantPage, ParticipantPage, ParticipantPage];
    const benId = await idOf(ben);
    await ana.page.evaluate((id) => window.conclave!.muteParticipant(id, 'mic'), benId);
    for (const viewer of [ana, cy]) {
      await eventually(async () => (await viewer.state()).consumers.some((c) => c.peerId === benId && c.source === 'mic' && c.paused) || undefined, {
        what: `Ben's microphone to show muted at ${viewer.name}'s`,
      });
    }
    expect((await ben.state()).producers.find((producer) => producer.source === 'mic')?.paused).toBe(true);
    await ana.page.evaluate((id) => window.conclave!.setRole(id, 'moderator'), benId);
    await eventually(async () => ((await ben.state()).role === 'moderator' ? true : undefined), { what: 'Ben to be moderator' });
    await eventually(async () => (await cy.state()).participants.some((p) => p.id === benId && p.role === 'moderator') || undefined, {
      what: 'Cy to see Ben as moderator',
    });

    // The admin API of Ana's node acts on Cy, who is on another node: the call goes to Cy's node.
    const cyId = await idOf(cy);
    const anaId = await idOf(ana);
    const anaNode = nodes.find((node) => roomOn(node)?.peers.has(anaId) ?? false);
    const muted = await fetch(`${anaNode!.url}/api/v1/rooms/${ROOM}/participants/${cyId}/mute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'camera' }),
    });
    expect(muted.status).toBe(200);
    await eventually(async () => (await cy.state()).producers.find((producer) => producer.source === 'camera')?.paused || undefined, {
      what: "Cy's camera to be muted",
    });
  });

  it('someone leaving one node is gone on the others, with the pipes of their media', async () => {
    const [ana, ben, cy] = pages as [ParticipantPage, ParticipantPage, ParticipantPage];
    const cyId = await idOf(cy);
    const cyNode = nodes.find((node) => roomOn(node)?.peers.has(cyId))!;
    await leaveAndClose(cy);
    pages.splice(pages.indexOf(cy), 1);
    for (const viewer of [ana, ben]) {
      await eventually(
        async () => {
          const { participants, consumers } = await viewer.state();
          return (!participants.some((p) => p.id === cyId) && !consumers.some((c) => c.peerId === cyId)) || undefined;
        },
        { what: `Cy's tile to leave ${viewer.name}'s page` },
      );
      await expect.poll(() => viewer.page.locator(`[data-peer-id="${cyId}"]`).count()).toBe(0);
    }
    expect(roomOn(cyNode)).toBeUndefined();
    for (const node of nodes.filter((candidate) => candidate !== cyNode)) {
      await eventually(() => (node.server.cluster!.pipes.counts.incoming === 2 && node.server.cluster!.pipes.counts.outgoing === 2) || undefined, {
        what: `${node.id}'s pipes from and to Cy's node to close`,
      });
    }

    // The host removes Ben, on another node: his call ends, and he is gone for her.
    const benId = await idOf(ben);
    await ana.page.evaluate((id) => window.conclave!.removeParticipant(id), benId);
    await eventually(async () => ((await ben.state()).connection === 'left' ? true : undefined), { what: "Ben's call to end" });
    await eventually(async () => !(await ana.state()).participants.some((p) => p.id === benId) || undefined, { what: 'Ben to be gone for Ana' });

    // The last one leaves: the room finished once for the cluster, as it started once, though three nodes had a part of it.
    await leaveAndClose(ana);
    pages.splice(pages.indexOf(ana), 1);
    const ofRoom = (event: string): number => hooks.filter((hook) => hook.event === event && hook.room === ROOM).length;
    // Every node's part has closed and said so (each node sends a participant's leave before deciding
    // on room_finished; Cy's and Ben's nodes decided long before Ana left).
    await eventually(() => (ofRoom('participant_left') === 3 && ofRoom('room_finished') >= 1) || undefined, { what: 'every leave and room_finished' });
    expect({ started: ofRoom('room_started'), finished: ofRoom('room_finished'), joined: ofRoom('participant_joined') }).toEqual({
      started: 1,
      finished: 1,
      joined: 3,
    });
  });
});
