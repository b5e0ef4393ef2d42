import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { seriousViolations } from '../helpers/axe.js';
import { launchChromium, leaveAndClose, openParticipant, type OpenOptions, type ParticipantPage } from '../helpers/browser.js';
import { startRtmpServer } from '../helpers/rtmp.js';
import { CLIENT_DIST, useServer } from '../helpers/server.js';

/**
 * Recording and live streaming as the people in the call meet them, in real Chromium pages against
 * a real server whose compositor (headless Chromium and ffmpeg) really records: only hosts and
 * moderators get the controls, everyone sees the "Recording" and "Live" badges while they run, a
 * newcomer is told at once, and the host who stops a recording gets a link that downloads it.
 */
// Three pages and the compositor's own browser on a loaded two-core machine: starts take seconds.
describe('recording and live streaming in the call', { timeout: 240_000 }, () => {
  const recordings = mkdtempSync(path.join(tmpdir(), 'conclave-recui-'));
  const server = useServer({ CLIENT_DIST, RECORDINGS_DIR: recordings });
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(recordings, { recursive: true, force: true });
  });

  /** Camera and microphone off: people who only look (the host's camera gives the compositor something to draw). */
  const watching: OpenOptions = { query: { cam: '0', mic: '0' } };

  /** Opens the app as someone joining `room`; everyone leaves when the case ends. */
  function gathering(room: string) {
    const present: ParticipantPage[] = [];
    onTestFinished(() => Promise.all(present.map((participant) => leaveAndClose(participant).catch(() => undefined))).then(() => undefined));
    return async (name: string, options: OpenOptions = {}): Promise<ParticipantPage> => {
      const participant = await openParticipant(browser, server.url, room, name, options);
      present.push(participant);
      return participant;
    };
  }

  const badge = (viewer: ParticipantPage, kind: 'recording' | 'live') => viewer.page.locator(`[data-${kind}-indicator]`);
  const notice = (viewer: ParticipantPage, kind: 'recording' | 'stream', change: string) =>
    viewer.page.locator(`[data-recording-notice][data-kind="${kind}"][data-change="${change}"]`);

  async function openPanel(viewer: ParticipantPage): Promise<void> {
    if (!(await viewer.page.locator('[data-participants-panel]').isVisible())) await viewer.page.click('[data-action="participants"]');
  }

  /** What a refused request's error says (its code), or 'ok'. */
  const refusal = (viewer: ParticipantPage, attempt: 'startRecording' | 'startStream') =>
    viewer.page.evaluate(async (what) => {
      const conclave = window.conclave!;
      const request = what === 'startRecording' ? conclave.startRecording('grid') : conclave.startStream('rtmp://127.0.0.1:1935/live/key');
      return request.then(
        () => 'ok',
        (error: { code?: string; message?: string }) => error.code ?? error.message,
      );
    }, attempt);

  it('only the host records; everyone sees it, a newcomer is told, and the host downloads the file once it stops', async () => {
    const arrive = gathering('rec-ui');
    const ana = await arrive('Ana', { query: { mic: '0' } });
    const ben = await arrive('Ben', watching);
    expect((await ana.state()).role).toBe('host');

    // Ben is a participant: no controls in his panel, and the server refuses him.
    await openPanel(ben);
    await expect.poll(() => ben.page.locator('li[data-participant]').count()).toBe(2);
    expect(await ben.page.locator('[data-recording-controls]').isVisible()).toBe(false);
    expect(await refusal(ben, 'startRecording')).toBe('FORBIDDEN');
    expect(await refusal(ben, 'startStream')).toBe('FORBIDDEN');
    expect(await badge(ben, 'recording').isVisible()).toBe(false);

    // Ana records in the speaker layout from her panel.
    await openPanel(ana);
    const controls = ana.page.locator('[data-recording-controls]');
    await expect.poll(() => controls.isVisible()).toBe(true);
    await controls.locator('select[data-recording-layout]').selectOption('speaker');
    await controls.locator('[data-action="start-recording"]').click();
    for (const viewer of [ana, ben]) {
      await expect.poll(() => badge(viewer, 'recording').isVisible(), { timeout: 60_000 }).toBe(true);
      expect(await badge(viewer, 'recording').getAttribute('role')).toBe('status');
      expect(await badge(viewer, 'recording').textContent()).toContain('Recording');
      expect(await badge(viewer, 'live').isVisible()).toBe(false);
    }
    await expect.poll(() => notice(ben, 'recording', 'started').textContent()).toContain('Ana started recording');
    const { recording } = (await ben.state()).recording;
    expect(recording).toMatchObject({ layout: 'speaker', startedBy: 'Ana' });
    await expect.poll(() => controls.locator('[data-action="stop-recording"]').isEnabled()).toBe(true);

    // Cy arrives while it runs: the badge, a notice and an announcement, at once.
    const cy = await arrive('Cy', watching);
    await expect.poll(() => badge(cy, 'recording').isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => notice(cy, 'recording', 'joined').textContent()).toContain('This meeting is being recorded');
    expect(await cy.page.locator('[data-announcer]').textContent()).toContain('This meeting is being recorded');
    expect((await cy.state()).recording.recording?.startedBy).toBe('Ana');

    // A few seconds of meeting, then Ana stops: the badge goes everywhere, and she gets the file.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await controls.locator('[data-action="stop-recording"]').click();
    for (const viewer of [ana, ben, cy]) await expect.poll(() => badge(viewer, 'recording').isVisible(), { timeout: 60_000 }).toBe(false);
    await expect.poll(() => notice(cy, 'recording', 'stopped').textContent()).toContain('Recording stopped');
    expect((await ben.state()).recording).toEqual({ recording: null, streaming: null });

    const ready = ana.page.locator('[data-recording-ready]');
    await expect.poll(() => ready.count(), { timeout: 30_000 }).toBe(1);
    const [told] = await ana.page.evaluate(() => window.conclave!.recordingsReady());
    expect(told?.bytes).toBeGreaterThan(0);
    expect(await ready.textContent()).toContain(told!.file);
    const link = ready.locator('a[data-recording-download]');
    expect(await link.getAttribute('download')).toBe(told!.file);
    const downloaded = await link.evaluate(async (anchor: HTMLAnchorElement) => {
      const response = await fetch(anchor.href);
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { status: response.status, size: bytes.length, header: [...bytes.subarray(0, 4)] };
    });
    // A WebM file (an EBML header), as long as the server said.
    expect(downloaded).toEqual({ status: 200, size: told!.bytes, header: [0x1a, 0x45, 0xdf, 0xa3] });
    // Only hosts and moderators are given the file.
    expect(await ben.page.evaluate(() => window.conclave!.recordingsReady())).toEqual([]);
    expect(await ben.page.locator('[data-recording-ready]').count()).toBe(0);
  });

  it('the host goes live through the dialog: a wrong URL is explained, the key never shows again, and everyone sees "Live"', async () => {
    const rtmp = await startRtmpServer();
    onTestFinished(() => rtmp.stop());
    const arrive = gathering('live-ui');
    const ana = await arrive('Ana', { query: { mic: '0' } });
    const ben = await arrive('Ben', watching);
    await openPanel(ana);
    const controls = ana.page.locator('[data-recording-controls]');
    const dialog = ana.page.locator('dialog[data-stream-dialog]');
    const field = dialog.locator('input[data-stream-url]');

    // From the keyboard: the button opens the dialog with the focus in its field; Escape closes it, forgetting what was typed.
    await controls.locator('[data-action="start-stream"]').focus();
    await ana.page.keyboard.press('Enter');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await field.evaluate((input) => input === document.activeElement)).toBe(true);
    expect(await field.getAttribute('type')).toBe('password');
    await ana.page.keyboard.type('rtmp://half-typed');
    await ana.page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    // The dialog's close event (which forgets the text and gives the focus back) is queued after it hides.
    await expect.poll(() => field.inputValue()).toBe('');
    await expect.poll(() => ana.page.evaluate(() => document.activeElement?.getAttribute('data-action'))).toBe('start-stream');

    // A URL the server would refuse is explained in the dialog, and nothing is sent.
    await ana.page.keyboard.press('Enter');
    await field.fill('https://example.com/live/key');
    await dialog.locator('[data-action="stream-submit"]').click();
    await expect.poll(() => dialog.locator('[data-stream-problem]').textContent()).toContain('rtmp://host/app/key');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.isVisible()).toBe(true);
    expect(await seriousViolations(ana.page), 'the dialog').toEqual([]);

    const key = 'sk-live-7f3a9c2e';
    const url = rtmp.url('live', key);
    await field.fill(url);
    await ana.page.keyboard.press('Enter');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    for (const viewer of [ana, ben]) {
      await expect.poll(() => badge(viewer, 'live').isVisible(), { timeout: 60_000 }).toBe(true);
      expect(await badge(viewer, 'recording').isVisible()).toBe(false);
    }
    await expect.poll(() => notice(ben, 'stream', 'started').textContent()).toContain('Ana started streaming');
    // Ana sees where it goes, without the key; the key is nowhere in her page (nor in the field).
    expect(await controls.locator('[data-stream-destination]').textContent()).toContain(`rtmp://127.0.0.1:${rtmp.port}/live/…`);
    expect(await field.inputValue()).toBe('');
    const page = await ana.page.evaluate(() => document.documentElement.outerHTML);
    expect(page).not.toContain(key);
    expect(await seriousViolations(ben.page), 'the call with its badge and notice').toEqual([]);

    await controls.locator('[data-action="stop-stream"]').click();
    for (const viewer of [ana, ben]) await expect.poll(() => badge(viewer, 'live').isVisible(), { timeout: 60_000 }).toBe(false);
    await expect.poll(() => notice(ben, 'stream', 'stopped').textContent()).toContain('The live stream ended');
    expect(await controls.locator('[data-stream-destination]').isVisible()).toBe(false);
  });
});
