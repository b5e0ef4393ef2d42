import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { framesFrom, launchLightChromium, leaveAndClose, openParticipant, waitForVideoFrom, type ParticipantPage } from '../helpers/browser.js';
import { eventually, CLIENT_DIST, useServer } from '../helpers/server.js';

/** A call survives a dropped connection, a lost place, and a crashed media worker. */
describe('a call that recovers by itself', () => {
  const server = useServer({ CLIENT_DIST, NUM_WORKERS: '2' });
  let browser: Browser;
  const open: ParticipantPage[] = [];

  beforeAll(async () => {
    browser = await launchLightChromium();
  });

  afterEach(async () => {
    // A clean leave, so the rooms close now rather than after the closed pages' reconnect grace.
    await Promise.all(open.splice(0).map(leaveAndClose));
    await eventually(async () => (await server.health()).rooms === 0, { what: 'rooms to close' });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function twoInACall(room: string): Promise<{ ana: ParticipantPage; ben: ParticipantPage; anaId: string; benId: string }> {
    const ana = await openParticipant(browser, server.url, room, 'Ana');
    const ben = await openParticipant(browser, server.url, room, 'Ben');
    open.push(ana, ben);
    const anaId = (await ana.state()).self!.id;
    const benId = (await ben.state()).self!.id;
    await Promise.all([waitForVideoFrom(ana, [benId]), waitForVideoFrom(ben, [anaId])]);
    return { ana, ben, anaId, benId };
  }

  /** Cuts a participant's signalling connection on the server side, as a network drop would. */
  function dropConnectionOf(peerId: string): void {
    const connection = server.sessions.find(peerId)?.connection;
    if (!connection) throw new Error(`no live connection for ${peerId}`);
    connection.socket.conn.close();
  }

  const cameraTiles = (participant: ParticipantPage) => participant.page.locator('[data-kind="camera"]:not([data-local])');

  it('a dropped connection resumes as the same participant: no duplicate tile, media keeps flowing', async () => {
    const { ana, ben, anaId, benId } = await twoInACall('drop');
    dropConnectionOf(benId);
    await eventually(async () => (await ben.state()).connection === 'reconnecting', { what: 'Ben to notice', timeoutMs: 5000, intervalMs: 20 });
    await eventually(async () => (await ben.state()).connection === 'joined', { what: 'Ben to resume', timeoutMs: 15_000 });

    expect((await ben.state()).self?.id).toBe(benId);
    expect(await cameraTiles(ana).count()).toBe(1);
    expect(await cameraTiles(ana).getAttribute('data-peer-id')).toBe(benId);
    await Promise.all([waitForVideoFrom(ana, [benId]), waitForVideoFrom(ben, [anaId])]);
    // Requests work again after the resume: mute reaches Ana.
    await ben.call('setMic', false);
    await expect.poll(() => ana.page.locator(`[data-peer-id="${benId}"] .mic-off:not([hidden])`).count(), { timeout: 10_000 }).toBe(1);
  });

  it('after the grace period the client rejoins cleanly as a new participant', async () => {
    const { ana, ben, anaId, benId } = await twoInACall('late');
    // The place is gone by the time the client is back (as after a long outage).
    const found = await server.rooms.findPeer(benId);
    dropConnectionOf(benId);
    found!.room.leave(found!.peer);

    const newBenId = await eventually(
      async () => {
        const state = await ben.state();
        return state.connection === 'joined' && state.self && state.self.id !== benId ? state.self.id : undefined;
      },
      { what: 'Ben to rejoin', timeoutMs: 15_000 },
    );
    await Promise.all([waitForVideoFrom(ana, [newBenId]), waitForVideoFrom(ben, [anaId])]);
    await expect.poll(() => cameraTiles(ana).count()).toBe(1);
    expect(await cameraTiles(ana).getAttribute('data-peer-id')).toBe(newBenId);
    expect(await ben.page.locator('[data-kind="camera"][data-local]').count()).toBe(1);
    expect((await ben.state()).participants.map((participant) => participant.id)).toEqual([anaId]);
  });

  it('a media worker killed mid-call: both see each other again, nobody rejoining', async () => {
    const { ana, ben, anaId, benId } = await twoInACall('crash');
    const room = (await server.rooms.list()).find((candidate) => candidate.id === 'crash')!;
    const victim = room.host.worker.pid;
    const before = [framesFrom(await ana.stats(), benId), framesFrom(await ben.stats(), anaId)];
    expect(before.every((frames) => (frames ?? 0) > 0)).toBe(true);

    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    await Promise.all([waitForVideoFrom(ana, [benId], 'camera', 20_000), waitForVideoFrom(ben, [anaId], 'camera', 20_000)]);
    const recoveredMs = Date.now() - killedAt;
    console.log(`[resilience] worker SIGKILL → both decoding again: ${recoveredMs} ms`);

    expect(room.host.worker.pid).not.toBe(victim);
    expect(room.host.worker.closed).toBe(false);
    // The goal, 5 s, is a benchmark figure (BENCHMARKS §4: 2.7 s median, `npm run bench:chaos`); a
    // loaded CI machine took 18 s once, so the test holds the behaviour to a bound that survives load.
    expect(recoveredMs).toBeLessThan(20_000);
    // Same people, same tiles: nobody had to rejoin.
    expect((await ana.state()).self?.id).toBe(anaId);
    expect(await cameraTiles(ana).count()).toBe(1);
    expect(await cameraTiles(ben).count()).toBe(1);
    await eventually(async () => (await server.health()).workers.alive === 2, { what: 'the pool to replace the worker' });
  });
});
