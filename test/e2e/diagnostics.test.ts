import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../shared/diagnostics.js';
import type { DiagnosticsBundle } from '../../client/src/conference/diagnosticsBundle.js';
import { launchChromium, leaveAndClose, openParticipant, type ParticipantPage } from '../helpers/browser.js';
import { CLIENT_DIST, eventually, useServer } from '../helpers/server.js';

const ADMIN_KEY = 'diagnostics-admin-key-0123456789';

/**
 * The connection panel a participant opens when a call goes wrong (the statistics button): how
 * media flows, a minute of charts, and the session's timeline as both the browser and the server
 * saw it — an ICE restart and a move to another media worker included — and the diagnostics file.
 */
describe('the connection panel', { timeout: 180_000 }, () => {
  const server = useServer({ CLIENT_DIST, NUM_WORKERS: '2', ADMIN_API_KEY: ADMIN_KEY });
  let browser: Browser;
  let ana: ParticipantPage;
  let ben: ParticipantPage;

  beforeAll(async () => {
    browser = await launchChromium();
    ana = await openParticipant(browser, server.url, 'timeline', 'Ana');
    ben = await openParticipant(browser, server.url, 'timeline', 'Ben');
  });

  afterAll(async () => {
    await Promise.all([ana, ben].filter(Boolean).map(leaveAndClose));
    await browser?.close();
  });

  /** What the timeline shows now: each row's kind and origin, and its text. */
  async function timeline(): Promise<{ kind: string; origin: string; text: string }[]> {
    return ana.page.$$eval('[data-timeline] li[data-kind]', (rows) =>
      rows.map((row) => ({ kind: row.getAttribute('data-kind') ?? '', origin: row.getAttribute('data-origin') ?? '', text: row.textContent ?? '' })),
    );
  }

  async function waitForRow(kind: string, origin: 'browser' | 'server', what: string): Promise<void> {
    await eventually(async () => (await timeline()).some((row) => row.kind === kind && row.origin === origin), { what, timeoutMs: 30_000 });
  }

  it('shows how media flows, live charts, and the join as both sides saw it', async () => {
    await ana.page.click('[data-action="stats"]');
    const panel = ana.page.locator('[data-connection-panel]');
    await panel.waitFor({ state: 'visible' });
    // Loopback: both transports direct over UDP.
    await eventually(async () => /UDP/.test((await ana.page.textContent('[data-route="send"]')) ?? ''), { what: 'the send route', timeoutMs: 20_000 });
    expect(await ana.page.textContent('[data-route="recv"]')).toMatch(/direct, UDP/);
    // Ben's camera and voice arrive: the receive rate shown is a real number, not "measuring…".
    await eventually(async () => /down \d/.test((await panel.textContent()) ?? ''), { what: 'a measured bit rate', timeoutMs: 20_000 });
    await waitForRow('joined', 'server', 'the server’s join');
    await waitForRow('ice', 'browser', 'the browser’s ICE state');
    await waitForRow('path', 'browser', 'the selected candidate pair');
    const rows = await timeline();
    expect(rows.find((row) => row.kind === 'path')?.text).toMatch(/local address → local address, UDP/);
  });

  it('records an ICE restart from the panel, on both sides', async () => {
    await ana.page.click('[data-action="reconnect-media"]');
    await waitForRow('iceRestart', 'browser', 'the browser’s ICE restart');
    await waitForRow('iceRestart', 'server', 'the server’s ICE restart');
    // Media keeps flowing after it: frames from Ben still decode.
    const before = (await ana.stats()).consumers.find((consumer) => consumer.source === 'camera')?.framesDecoded ?? 0;
    await eventually(async () => ((await ana.stats()).consumers.find((consumer) => consumer.source === 'camera')?.framesDecoded ?? 0) > before + 10, {
      what: 'Ben’s video after the restart',
      timeoutMs: 20_000,
    });
  });

  it('records a move to another media worker when the room’s worker dies, and Ben’s video comes back', async () => {
    const room = (await server.rooms.list()).find((candidate) => candidate.id === 'timeline');
    if (!room) throw new Error('no room');
    process.kill(room.host.worker.pid, 'SIGKILL');
    await waitForRow('mediaReset', 'browser', 'the browser seeing the media reset');
    await waitForRow('workerMoved', 'server', 'the server’s worker move');
    await waitForRow('transports', 'browser', 'new transports');
    await eventually(
      async () => {
        const camera = (await ana.stats()).consumers.find((consumer) => consumer.source === 'camera');
        return camera !== undefined && (camera.framesDecoded ?? 0) > 10;
      },
      { what: 'Ben’s video on the new worker', timeoutMs: 30_000 },
    );
  });

  it('downloads a diagnostics file with the timeline, a minute of statistics and the browser, and the operator sees the same events', async () => {
    const downloadBundle = async (): Promise<DiagnosticsBundle> => {
      const [download] = await Promise.all([ana.page.waitForEvent('download'), ana.page.click('[data-action="download-diagnostics"]')]);
      return JSON.parse(await readFile(await download.path(), 'utf8')) as DiagnosticsBundle;
    };
    // The link samples are taken once a second, and the earlier cases may have been quick: wait for a few.
    const bundle = await eventually(
      async () => {
        const candidate = await downloadBundle();
        return candidate.samples.length > 2 ? candidate : null;
      },
      { what: 'a diagnostics file with a few seconds of samples', timeoutMs: 20_000, intervalMs: 1000 },
    );
    expect(bundle.format).toBe('conclave-diagnostics/1');
    expect(bundle.room).toBe('timeline');
    expect(bundle.page).not.toContain('?');
    expect(bundle.browser.userAgent).toMatch(/Chrome/);
    expect(bundle.devices.some((device) => device.kind === 'videoinput')).toBe(true);
    const kinds = bundle.timeline.map((entry) => `${entry.origin}:${entry.event.kind}`);
    for (const kind of ['server:joined', 'browser:iceRestart', 'server:iceRestart', 'browser:mediaReset', 'server:workerMoved']) expect(kinds).toContain(kind);
    expect(bundle.samples.length).toBeGreaterThan(2);
    expect(bundle.samples.some((sample) => sample.recvKbps > 0)).toBe(true);
    expect(bundle.stats?.consumers.length).toBeGreaterThan(0);

    // The operator's side: the admin API returns the server's log of the same session.
    const selfId = bundle.self?.id ?? '';
    const response = await fetch(`${server.url}/api/v1/rooms/timeline/participants/${selfId}/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.status).toBe(200);
    const { events } = (await response.json()) as { events: SessionEvent[] };
    const serverKinds = events.map((event) => event.kind);
    expect(serverKinds).toEqual(expect.arrayContaining(['joined', 'iceRestart', 'workerMoved']));
  });
});
