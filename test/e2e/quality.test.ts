import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerStats } from '../../client/src/conference/types.js';
import { launchChromium, leaveAndClose, openParticipant, type OpenOptions, type ParticipantPage } from '../helpers/browser.js';
import { eventually, CLIENT_DIST, useServer } from '../helpers/server.js';

/**
 * What a user sees of connection quality (the bars on each tile, their own explained) and what
 * the quality setting does to what is sent and received. The poor-link side is the network lab's
 * (test/netlab).
 */
describe('connection quality you can see, and a quality setting', { timeout: 180_000 }, () => {
  const server = useServer({ CLIENT_DIST });
  let browser: Browser;
  const open: ParticipantPage[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map(leaveAndClose));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'rooms to close' });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function join(room: string, name: string, options: OpenOptions = {}): Promise<{ page: ParticipantPage; id: string }> {
    const page = await openParticipant(browser, server.url, room, name, options);
    open.push(page);
    const self = (await page.state()).self;
    if (!self) throw new Error(`${name} has not joined`);
    return { page, id: self.id };
  }

  /** The viewer's consumer of `peerId`'s camera once `check` holds (a loaded machine's encoders can take a while). */
  async function cameraWhen(viewer: ParticipantPage, peerId: string, check: (camera: ConsumerStats) => boolean, what: string): Promise<ConsumerStats> {
    let last: ConsumerStats | undefined;
    try {
      return await eventually(
        async () => {
          last = (await viewer.stats()).consumers.find((consumer) => consumer.peerId === peerId && consumer.source === 'camera');
          return last && check(last) ? last : undefined;
        },
        { what: `${viewer.name}: ${what}`, timeoutMs: 60_000, intervalMs: 500 },
      );
    } catch (error) {
      const seen = last && { spatialLayer: last.spatialLayer, preferredSpatialLayer: last.preferredSpatialLayer, frameWidth: last.frameWidth };
      throw new Error(`${String(error)}; last seen ${JSON.stringify(seen)}`, { cause: error });
    }
  }

  it('every camera tile shows its connection quality as the server sees it, and your own says what it is', async () => {
    const ana = await join('bars', 'Ana');
    const ben = await join('bars', 'Ben');
    const bars = (viewer: ParticipantPage, peerId: string) => viewer.page.locator(`[data-peer-id="${peerId}"][data-kind="camera"] .quality`);

    // Each sees the other's level, and the same level the server reports to that person.
    await expect.poll(() => bars(ana.page, ben.id).getAttribute('data-quality'), { timeout: 30_000 }).toMatch(/^(good|fair|poor)$/);
    await expect.poll(() => bars(ben.page, ana.id).getAttribute('data-quality'), { timeout: 30_000 }).toMatch(/^(good|fair|poor)$/);
    const benSelf = await ben.page.state();
    expect(benSelf.qualities[ben.id]).toMatch(/^(good|fair|poor)$/);
    // Ben's own report carries the server's bandwidth estimate for his downlink.
    await expect.poll(async () => (await ben.page.state()).link?.downlink.availableKbps ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
    // His own bars explain themselves.
    await expect.poll(() => bars(ben.page, ben.id).getAttribute('title'), { timeout: 30_000 }).toMatch(/\S/);
    // A leaver's level is forgotten with them.
    await leaveAndClose(ben.page);
    open.splice(open.indexOf(ben.page), 1);
    await expect.poll(async () => (await ana.page.state()).qualities[ben.id], { timeout: 15_000 }).toBeUndefined();
  });

  it('Data saver sends and receives the lowest layer; High asks for the top layer even in a small tile; the choice is remembered', async () => {
    const ana = await join('saver', 'Ana', { query: { mic: '0' } });
    const ben = await join('saver', 'Ben', { query: { mic: '0' }, viewport: { width: 640, height: 480 } });
    const auto = await cameraWhen(ben.page, ana.id, (camera) => (camera.framesDecoded ?? 0) > 0 && camera.preferredSpatialLayer !== null, 'video');
    expect(auto.preferredSpatialLayer).toBeLessThan(2);

    await ben.page.page.selectOption('.quality-select', 'saver');
    // Ben now sends only his lowest layer: Ana, whose tile would take more, receives it.
    const fromBen = await cameraWhen(ana.page, ben.id, (camera) => (camera.frameWidth ?? Infinity) <= 320 && camera.spatialLayer === 0, 'Ben’s lowest layer');
    expect(fromBen.framesDecoded).toBeGreaterThan(0);
    // And asks only for Ana's lowest layer.
    await cameraWhen(ben.page, ana.id, (camera) => camera.preferredSpatialLayer === 0 && (camera.frameWidth ?? Infinity) <= 320, 'Ana’s lowest layer');

    await ben.page.page.selectOption('.quality-select', 'high');
    // Ben's small tile now asks for Ana's top layer, and his camera sends every layer again.
    await cameraWhen(ben.page, ana.id, (camera) => camera.preferredSpatialLayer === 2, 'the top layer asked for');
    await cameraWhen(ana.page, ben.id, (camera) => (camera.frameWidth ?? 0) > 320, 'Ben’s higher layers again');
    expect(await ben.page.page.evaluate(() => localStorage.getItem('conclave.quality'))).toBe('high');
    expect((await ben.page.state()).quality).toBe('high');
  });
});
