import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConferenceStats, ConsumerStats } from '../../client/src/conference/types.js';
import type { MediaSource } from '../../shared/protocol.js';
import { launchChromium, leaveAndClose, openParticipant, waitForVideoFrom, type OpenOptions, type ParticipantPage } from '../helpers/browser.js';
import { eventually, CLIENT_DIST, useServer } from '../helpers/server.js';

/**
 * Receiving only what is needed: each viewer gets the simulcast layer its tile is drawn at, and
 * nothing for tiles nobody can see (another page, scrolled away), while every voice is heard.
 */
describe('video sized to each tile, paused when nobody sees it', { timeout: 150_000 }, () => {
  const server = useServer({ CLIENT_DIST });
  let browser: Browser;
  const open: ParticipantPage[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterEach(async () => {
    // A clean leave, so the rooms close now rather than after the closed pages' reconnect grace.
    await Promise.all(open.splice(0).map(leaveAndClose));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'rooms to close' });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function join(room: string, name: string, options: OpenOptions): Promise<{ page: ParticipantPage; id: string }> {
    const page = await openParticipant(browser, server.url, room, name, options);
    open.push(page);
    const self = (await page.state()).self;
    if (!self) throw new Error(`${name} has not joined`);
    return { page, id: self.id };
  }

  /** Whether the server forwards `source` of `fromPeerId` to `viewerId` (its consumer there is not paused). */
  async function forwarded(viewerId: string, fromPeerId: string, source: MediaSource): Promise<boolean> {
    const found = await server.rooms.findPeer(viewerId);
    const consumer = [...(found?.peer.consumers.values() ?? [])].find(
      (candidate) => candidate.appData.peerId === fromPeerId && candidate.appData.source === source,
    );
    if (!consumer) throw new Error(`no ${source} consumer of ${fromPeerId} for ${viewerId} on the server`);
    return !consumer.paused;
  }

  const consumerOf = (stats: ConferenceStats, peerId: string, source: MediaSource): ConsumerStats | undefined =>
    stats.consumers.find((consumer) => consumer.peerId === peerId && consumer.source === source);

  /** The viewer's camera stats of `peerId` once `check` holds for them. */
  /**
   * The viewer's consumer of `peerId`'s camera once `check` holds. A loaded machine can take long:
   * the sender's encoder drops its top simulcast layer while its CPU is short (Chromium's overuse
   * detection) and brings it back later, so this waits up to 60 s and says what it last saw.
   */
  async function cameraWhen(viewer: ParticipantPage, peerId: string, check: (camera: ConsumerStats) => boolean, what: string): Promise<ConsumerStats> {
    let last: ConsumerStats | undefined;
    try {
      return await eventually(
        async () => {
          last = consumerOf(await viewer.stats(), peerId, 'camera');
          return last && check(last) ? last : undefined;
        },
        { what: `${viewer.name}: ${what}`, timeoutMs: 60_000, intervalMs: 500 },
      );
    } catch (error) {
      const seen = last && {
        spatialLayer: last.spatialLayer,
        preferredSpatialLayer: last.preferredSpatialLayer,
        frameWidth: last.frameWidth,
        framesDecoded: last.framesDecoded,
      };
      throw new Error(`${String(error)}; last seen ${JSON.stringify(seen)}`, { cause: error });
    }
  }

  /** Asserts that `peerId`'s microphone keeps arriving at the viewer (samples rising). */
  async function expectHeard(viewer: ParticipantPage, peerIds: string[]): Promise<void> {
    const before = await viewer.stats();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const after = await viewer.stats();
    for (const peerId of peerIds) {
      const samples = (stats: ConferenceStats) => consumerOf(stats, peerId, 'mic')?.totalSamplesReceived ?? 0;
      expect(samples(after), `${viewer.name} hears ${peerId}`).toBeGreaterThan(samples(before));
    }
  }

  const visibleCameraTiles = (viewer: ParticipantPage) => viewer.page.locator('[data-kind="camera"]:visible');

  it('a small tile receives the low layer; a larger one raises it, and the overlay shows it', async () => {
    const ana = await join('sizes', 'Ana', { query: { mic: '0' }, viewport: { width: 640, height: 480 } });
    const ben = await join('sizes', 'Ben', { query: { mic: '0', cam: '0' }, viewport: { width: 640, height: 480 } });

    // Two tiles side by side in 640×480: Ana's is drawn about 170 px tall.
    const small = await cameraWhen(ben.page, ana.id, (camera) => camera.spatialLayer === 0 && (camera.framesDecoded ?? 0) > 0, 'spatial layer 0');
    expect(small.preferredSpatialLayer).toBe(0);
    expect(small.pausedByClient).toBe(false);
    expect(small.frameWidth).toBeLessThanOrEqual(320);

    // A larger window: about 350 px tall.
    await ben.page.page.setViewportSize({ width: 1280, height: 800 });
    const medium = await cameraWhen(
      ben.page,
      ana.id,
      (camera) => camera.spatialLayer === 1 && (camera.frameWidth ?? 0) > (small.frameWidth ?? 0),
      'spatial layer 1',
    );
    expect(medium.preferredSpatialLayer).toBe(1);

    // Speaker view puts Ana on the stage, over 500 px tall: the top layer.
    await ben.page.page.click('[data-action="layout"]');
    expect(await ben.page.page.locator('[data-layout="speaker"]').count()).toBe(1);
    const large = await cameraWhen(
      ben.page,
      ana.id,
      (camera) => camera.spatialLayer === 2 && (camera.frameWidth ?? 0) > (medium.frameWidth ?? 0),
      'spatial layer 2',
    );
    expect(large.temporalLayer).not.toBeNull();
    console.log(`[layers] frame width received by tile size: ${small.frameWidth} → ${medium.frameWidth} → ${large.frameWidth}`);

    await ben.page.page.click('[data-action="stats"]');
    await expect.poll(() => ben.page.page.locator(`[data-peer-id="${ana.id}"] .tile-stats`).textContent()).toMatch(/layer S2 T\d \(want S2\)/);
  });

  it('a tile paged out of view is paused on the server while its audio plays on, and comes back with video', async () => {
    const ana = await join('paging', 'Ana', { viewport: { width: 640, height: 480 } });
    const ben = await join('paging', 'Ben', { query: { mic: '0', cam: '0' }, viewport: { width: 640, height: 480 } });
    await waitForVideoFrom(ben.page, [ana.id]);
    expect(await forwarded(ben.id, ana.id, 'camera')).toBe(true);

    // Too small a window for two tiles: one per page, Ben's own first.
    await ben.page.page.setViewportSize({ width: 480, height: 360 });
    await expect.poll(() => ben.page.page.locator('[data-page-indicator]').textContent()).toBe('1 / 2');
    await expect.poll(() => visibleCameraTiles(ben.page).getAttribute('data-peer-id')).toBe(ben.id);
    await eventually(async () => !(await forwarded(ben.id, ana.id, 'camera')), { what: 'Ana’s camera paused for Ben' });
    expect(await forwarded(ben.id, ana.id, 'mic')).toBe(true);
    expect(consumerOf(await ben.page.stats(), ana.id, 'camera')?.pausedByClient).toBe(true);
    await expectHeard(ben.page, [ana.id]);

    await ben.page.page.click('[data-action="page-next"]');
    await expect.poll(() => visibleCameraTiles(ben.page).getAttribute('data-peer-id')).toBe(ana.id);
    await eventually(() => forwarded(ben.id, ana.id, 'camera'), { what: 'Ana’s camera resumed for Ben' });
    await waitForVideoFrom(ben.page, [ana.id]);
  });

  it('six people in pages of four: the viewer receives video only from its page, and hears everyone', async () => {
    // Cameras only where the test looks at video: Cy on page 1, Fay and Gus on page 2.
    const others: { name: string; cam: boolean }[] = [
      { name: 'Cy', cam: true },
      { name: 'Dan', cam: false },
      { name: 'Eve', cam: false },
      { name: 'Fay', cam: true },
      { name: 'Gus', cam: true },
    ];
    const ids: Record<string, string> = {};
    for (const { name, cam } of others) {
      // Tiny windows with one tile per page: the others' pages receive (and decode) no video.
      const joined = await join('six', name, { query: { cam: cam ? '1' : '0' }, viewport: { width: 400, height: 300 } });
      ids[name] = joined.id;
    }
    const viewer = await join('six', 'Viv', { query: { cam: '0', mic: '0', pageSize: '4' }, viewport: { width: 800, height: 520 } });
    const { Cy: cy, Fay: fay, Gus: gus } = ids as Record<'Cy' | 'Fay' | 'Gus', string>;

    await expect.poll(() => viewer.page.page.locator('[data-participant-count]').getAttribute('data-participant-count')).toBe('6');
    await expect.poll(() => visibleCameraTiles(viewer.page).count()).toBe(4);
    expect(await viewer.page.page.locator('[data-page-indicator]').textContent()).toBe('1 / 2');
    expect(await visibleCameraTiles(viewer.page).first().getAttribute('data-local')).not.toBeNull();
    await waitForVideoFrom(viewer.page, [cy]);
    await eventually(async () => !(await forwarded(viewer.id, fay, 'camera')) && !(await forwarded(viewer.id, gus, 'camera')), {
      what: 'page-2 cameras paused for the viewer',
    });
    expect(await forwarded(viewer.id, cy, 'camera')).toBe(true);
    for (const peerId of Object.values(ids)) expect(await forwarded(viewer.id, peerId, 'mic')).toBe(true);
    await expectHeard(viewer.page, [fay, gus]);

    await viewer.page.page.click('[data-action="page-next"]');
    await expect.poll(() => visibleCameraTiles(viewer.page).count()).toBe(2);
    expect(await viewer.page.page.locator('[data-page-indicator]').textContent()).toBe('2 / 2');
    await waitForVideoFrom(viewer.page, [fay, gus]);
    expect(await forwarded(viewer.id, fay, 'camera')).toBe(true);
    expect(await forwarded(viewer.id, gus, 'camera')).toBe(true);
    await eventually(async () => !(await forwarded(viewer.id, cy, 'camera')), { what: 'Cy’s camera paused once off the page' });
    await expectHeard(viewer.page, [cy, fay, gus]);
    // Six pages join one after another: on two busy cores that alone can take most of a minute.
  }, 240_000);
});
