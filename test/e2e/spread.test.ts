import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchLightChromium, openParticipant, waitForVideoFrom } from '../helpers/browser.js';
import { eventually, CLIENT_DIST, useServer } from '../helpers/server.js';

/** One room larger than one worker: routers on two workers joined with pipeToRouter. */
describe('a room spread over two workers', () => {
  // Spread as soon as a worker carries any consumer, so the third participant lands on the other worker.
  const server = useServer({ CLIENT_DIST, NUM_WORKERS: '2', SPREAD_AT_CONSUMERS: '1' });
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchLightChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('participants on different workers see and hear each other, and leaving removes the extra router and its pipes', async () => {
    // Wide enough that all three tiles share one page (off-page videos are paused by design).
    const viewport = { width: 1280, height: 720 };
    const ana = await openParticipant(browser, server.url, 'wide', 'Ana', { viewport });
    const ben = await openParticipant(browser, server.url, 'wide', 'Ben', { viewport });
    const anaId = (await ana.state()).self!.id;
    const benId = (await ben.state()).self!.id;
    await waitForVideoFrom(ben, [anaId]);
    const cy = await openParticipant(browser, server.url, 'wide', 'Cy', { viewport });
    const cyId = (await cy.state()).self!.id;

    const room = (await server.rooms.list()).find((candidate) => candidate.id === 'wide')!;
    const workerOf = (peerId: string) => room.routers.find((slot) => slot.peerIds.includes(peerId))?.host.index;
    expect(room.routers).toHaveLength(2);
    expect(workerOf(cyId)).toBeDefined();
    expect(workerOf(cyId)).not.toBe(workerOf(anaId));

    // Media crosses workers in both directions, audio included.
    await Promise.all([waitForVideoFrom(cy, [anaId, benId]), waitForVideoFrom(ana, [benId, cyId]), waitForVideoFrom(ben, [anaId, cyId])]);
    const heard = (await ana.stats()).consumers.find((consumer) => consumer.peerId === cyId && consumer.source === 'mic');
    expect(heard?.bytesReceived ?? 0).toBeGreaterThan(0);

    const home = room.routers.find((slot) => slot.peerIds.includes(anaId))!.router;
    const pipeTransports = async () => {
      const dump = await home.dump();
      return dump.transportIds.length - 5; // Ana's and Ben's send + recv transports, and the room's data-channel DirectTransport
    };
    expect(await pipeTransports()).toBeGreaterThan(0);

    await cy.close();
    await eventually(() => room.routers.length === 1, { what: 'the extra router to close' });
    await eventually(async () => (await pipeTransports()) === 0, { what: 'pipe transports to close' });
    await waitForVideoFrom(ana, [benId]);
    await Promise.all([ana.close(), ben.close()]);
  });
});
