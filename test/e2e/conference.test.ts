import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesFrom, launchChromium, openParticipant, waitForVideoFrom, type ParticipantPage } from '../helpers/browser.js';
import { eventually, startTestServer } from '../helpers/server.js';

const root = path.resolve(import.meta.dirname, '../..');
const ROOM = 'design-review';

/** Three people in a call, seen through real headless Chromium with fake camera and microphone. */
describe('a conference in the browser', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;
  let ana: ParticipantPage;
  let ben: ParticipantPage;
  let cy: ParticipantPage;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer({ CLIENT_DIST: path.join(root, 'client/dist') });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function idOf(participant: ParticipantPage): Promise<string> {
    const self = (await participant.state()).self;
    if (!self) throw new Error(`${participant.name} has not joined`);
    ids[participant.name] = self.id;
    return self.id;
  }

  const remoteTile = (participant: ParticipantPage, peerId: string, kind: 'camera' | 'screen') =>
    participant.page.locator(`[data-peer-id="${peerId}"][data-kind="${kind}"]`);

  it('three participants each see the two others’ camera video decoding and receive their audio', async () => {
    ana = await openParticipant(browser, server.url, ROOM, 'Ana');
    ben = await openParticipant(browser, server.url, ROOM, 'Ben');
    cy = await openParticipant(browser, server.url, ROOM, 'Cy');
    const [anaId, benId, cyId] = await Promise.all([idOf(ana), idOf(ben), idOf(cy)]);

    await Promise.all([waitForVideoFrom(ana, [benId, cyId]), waitForVideoFrom(ben, [anaId, cyId]), waitForVideoFrom(cy, [anaId, benId])]);
    // The last to join measures what a newcomer waits for: page load until every remote video plays.
    console.log(`[conference] page load → all remote videos playing (3rd participant): ${Date.now() - cy.loadedAt} ms (includes the 2 stats samples)`);

    for (const [viewer, others] of [
      [ana, [benId, cyId]],
      [ben, [anaId, cyId]],
      [cy, [anaId, benId]],
    ] as const) {
      // Audio: bytes and decoded samples keep arriving from both others.
      const before = await viewer.stats();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const after = await viewer.stats();
      for (const peerId of others) {
        const mic = (stats: typeof before) => stats.consumers.find((c) => c.peerId === peerId && c.source === 'mic');
        expect(mic(after)?.totalSamplesReceived ?? 0, `${viewer.name} hears ${peerId}`).toBeGreaterThan(mic(before)?.totalSamplesReceived ?? 0);
        expect(mic(after)?.bytesReceived ?? 0).toBeGreaterThan(mic(before)?.bytesReceived ?? 0);
      }
      // The grid shows the two others and oneself.
      await expect.poll(() => viewer.page.locator('[data-kind="camera"]').count()).toBe(3);
      expect(await viewer.page.locator('[data-kind="camera"][data-local]').count()).toBe(1);
      for (const peerId of others) expect(await remoteTile(viewer, peerId, 'camera').locator('video:not([hidden])').count()).toBe(1);
      expect(await viewer.page.locator('[data-participant-count]').getAttribute('data-participant-count')).toBe('3');
    }

    mkdirSync(path.join(root, 'test-results'), { recursive: true });
    const shot = await ana.page.screenshot({ path: path.join(root, 'test-results', 'three-person-call.png') });
    if (process.env.UPDATE_SCREENSHOTS === '1') await ana.page.screenshot({ path: path.join(root, 'docs', 'three-person-call.png') });
    expect(shot.byteLength).toBeGreaterThan(10_000);
  });

  it('a screen share shows for the other two and ends when stopped', async () => {
    const anaId = ids.Ana!;
    await ana.call('shareScreen');
    await Promise.all([waitForVideoFrom(ben, [anaId], 'screen'), waitForVideoFrom(cy, [anaId], 'screen')]);
    await expect.poll(() => remoteTile(ben, anaId, 'screen').count()).toBe(1);
    await expect.poll(() => remoteTile(cy, anaId, 'screen').count()).toBe(1);

    await ana.call('stopScreen');
    await expect.poll(() => remoteTile(ben, anaId, 'screen').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => remoteTile(cy, anaId, 'screen').count(), { timeout: 10_000 }).toBe(0);
    expect(framesFrom(await ben.stats(), anaId, 'screen')).toBeUndefined();
  });

  it('turning the camera off shows the avatar to others, and on again brings video back', async () => {
    const benId = ids.Ben!;
    const tileOnAna = remoteTile(ana, benId, 'camera');
    await ben.call('setCam', false);
    await expect.poll(() => tileOnAna.locator('.avatar:not([hidden])').count(), { timeout: 10_000 }).toBe(1);
    expect(await tileOnAna.locator('video[hidden]').count()).toBe(1);
    expect(await tileOnAna.locator('.avatar').textContent()).toBe('B');
    // The camera is released while off.
    expect(await ben.page.evaluate(() => window.__capturedTracks!.filter((t) => t.kind === 'video' && t.readyState === 'live').length)).toBe(0);

    await ben.call('setCam', true);
    await expect.poll(() => tileOnAna.locator('video:not([hidden])').count(), { timeout: 10_000 }).toBe(1);
    await waitForVideoFrom(ana, [benId]);
  });

  it('muting the microphone shows the muted indicator to others', async () => {
    const cyId = ids.Cy!;
    await cy.call('setMic', false);
    await expect.poll(() => remoteTile(ana, cyId, 'camera').locator('.mic-off:not([hidden])').count(), { timeout: 10_000 }).toBe(1);
    await cy.call('setMic', true);
    await expect.poll(() => remoteTile(ana, cyId, 'camera').locator('.mic-off:not([hidden])').count(), { timeout: 10_000 }).toBe(0);
  });

  it('a participant in another room sees nobody, and nobody sees them', async () => {
    const dee = await openParticipant(browser, server.url, 'another-room', 'Dee');
    const deeId = await idOf(dee);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const state = await dee.state();
    expect(state.participants).toHaveLength(0);
    expect(state.consumers).toHaveLength(0);
    expect(await dee.page.locator('[data-kind="camera"]:not([data-local])').count()).toBe(0);
    expect(await remoteTile(ana, deeId, 'camera').count()).toBe(0);
    await dee.close();
  });

  it('someone whose camera and microphone are blocked still joins and receives everyone', async () => {
    const eve = await openParticipant(browser, server.url, ROOM, 'Eve', { denyMedia: true });
    const eveId = await idOf(eve);
    await expect.poll(() => eve.page.locator('.toast').first().textContent()).toMatch(/permission was denied/i);
    await waitForVideoFrom(eve, [ids.Ana!, ids.Ben!, ids.Cy!]);
    expect((await eve.state()).producers).toHaveLength(0);
    // Others see Eve as an avatar with her microphone shown as off.
    await expect.poll(() => remoteTile(ana, eveId, 'camera').locator('.avatar:not([hidden])').count()).toBe(1);
    expect(await remoteTile(ana, eveId, 'camera').locator('.mic-off:not([hidden])').count()).toBe(1);
    await eve.close();
    await expect.poll(() => remoteTile(ana, eveId, 'camera').count(), { timeout: 15_000 }).toBe(0);
  });

  it('a leaver’s tiles vanish for the others, and leaving releases camera and microphone', async () => {
    const cyId = ids.Cy!;
    await cy.call('leave');
    await expect.poll(() => remoteTile(ana, cyId, 'camera').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => remoteTile(ben, cyId, 'camera').count(), { timeout: 10_000 }).toBe(0);
    const live = await cy.page.evaluate(() => window.__capturedTracks!.filter((track) => track.readyState === 'live').length);
    expect(live).toBe(0);
    expect(await cy.page.locator('.ended h1').textContent()).toBe('You left the room');
  });

  it('a tab closed while its socket cannot send still leaves at once (the leave beacon), not after the reconnect grace', async () => {
    const fay = await openParticipant(browser, server.url, ROOM, 'Fay', { query: { cam: '0', mic: '0' } });
    const fayId = await idOf(fay);
    await expect.poll(() => remoteTile(ana, fayId, 'camera').count()).toBe(1);
    // Nothing more leaves Fay's page over the WebSocket (its `leave` is swallowed); HTTP still works.
    await fay.page.evaluate(() => {
      WebSocket.prototype.send = () => undefined;
    });
    const closed = Date.now();
    await fay.close();
    // The server keeps a dropped connection's place for RECONNECT_GRACE_SECONDS (30 here).
    await expect.poll(() => remoteTile(ana, fayId, 'camera').count(), { timeout: 10_000 }).toBe(0);
    console.log(`[conference] tab closed with a silenced socket → tile gone: ${Date.now() - closed} ms`);
  });

  it('closing the tab removes the participant for the others', async () => {
    const benId = ids.Ben!;
    await ben.close();
    await expect.poll(() => remoteTile(ana, benId, 'camera').count(), { timeout: 15_000 }).toBe(0);
    await eventually(async () => (await ana.state()).participants.length === 0, { what: 'Ana alone' });
    await ana.close();
    await eventually(async () => (await server.health()).rooms === 0, { what: 'rooms to close' });
  });
});
