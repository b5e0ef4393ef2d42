// Over ~350 lines on purpose: a recorded meeting checked in its file (who is shown when, sound and
// picture in step) and streamed live, with the frame readers those checks need.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingInfo, RecordingStatus } from '../../shared/recording.js';
import type { WebhookEvent } from '../../shared/webhooks.js';
import { launchChromiumWith, leaveAndClose, openParticipant, waitForVideoFrom, type ParticipantPage } from '../helpers/browser.js';
import { CAMERA_COLOURS, cameraClip, recordCapturedMedia, syncClips, type CameraColour, type Rgb } from '../helpers/media.js';
import { colourShares, framesOf, measureAvSync, probe, type Frame } from '../helpers/probe.js';
import { startRtmpServer } from '../helpers/rtmp.js';
import { CLIENT_DIST, eventually, useServer } from '../helpers/server.js';

const KEY = 'e2e-recording-admin-key-0123456789abcdef';
const WIDTH = 640;
const HEIGHT = 360;

/** A real webhook receiver on loopback: every event the server posts, in order. */
class Receiver {
  readonly events: WebhookEvent[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('request', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        receiver.events.push(JSON.parse(Buffer.concat(parts).toString('utf8')) as WebhookEvent);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/conclave`;
  }

  of<N extends WebhookEvent['event']>(event: N, room: string): Extract<WebhookEvent, { event: N }>[] {
    return this.events.filter((candidate): candidate is Extract<WebhookEvent, { event: N }> => candidate.event === event && candidate.room === room);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Seconds since `since` (a Date.now()). */
const secondsSince = (since: number): number => (Date.now() - since) / 1000;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What an operator gets from Conclave's recorder, checked in the file itself: people in real
 * browsers, each with a camera of one flat colour (test/helpers/media.ts), are recorded through
 * the admin API; the downloaded file is decoded and its frames say who was on screen when.
 */
describe('a recorded meeting, seen in the file', { timeout: 180_000 }, () => {
  const recordingsDir = mkdtempSync(path.join(tmpdir(), 'conclave-e2e-recordings-'));
  const work = mkdtempSync(path.join(tmpdir(), 'conclave-e2e-recording-'));
  let receiver: Receiver | undefined;
  // Listening before the server starts, which reads WEBHOOK_URLS once.
  beforeAll(async () => {
    receiver = await Receiver.start();
  });
  const server = useServer(() => ({
    CLIENT_DIST,
    ADMIN_API_KEY: KEY,
    RECORDINGS_DIR: recordingsDir,
    RECORDING_RESOLUTION: `${WIDTH}x${HEIGHT}`,
    RECORDING_FRAME_RATE: '15',
    RECORDING_MIN_FREE_MB: '1',
    MAX_RECORDINGS: '2',
    WEBHOOK_URLS: hooks().url,
  }));
  const browsers: Browser[] = [];
  const open: ParticipantPage[] = [];

  // Each case's people leave and their browsers close: fewer processes for the next compositor to compete with.
  afterEach(async () => {
    await Promise.all(open.splice(0).map((page) => leaveAndClose(page).catch(() => undefined)));
    await Promise.all(browsers.splice(0).map((browser) => browser.close()));
  });

  afterAll(async () => {
    await receiver?.close();
    rmSync(recordingsDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  function hooks(): Receiver {
    if (!receiver) throw new Error('no webhook receiver');
    return receiver;
  }

  async function admin<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${server.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** The file as the operator downloads it, saved for ffmpeg. */
  async function download(id: string): Promise<{ file: string; bytes: number }> {
    const response = await fetch(`${server.url}/api/v1/recordings/${id}/file`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    const file = path.join(work, `${id}.webm`);
    writeFileSync(file, bytes);
    return { file, bytes: bytes.length };
  }

  /** Someone has joined in a browser of their own, whose fake camera (and microphone) play its clips. */
  async function arrive(browser: Browser, room: string, name: string): Promise<{ page: ParticipantPage; id: string }> {
    const page = await openParticipant(browser, server.url, room, name, { viewport: { width: 960, height: 540 } });
    open.push(page);
    const self = (await page.state()).self;
    if (!self) throw new Error(`${name} has not joined`);
    return { page, id: self.id };
  }

  it('shows two people, then the late third, the screen share large while it lasts, and reports the file', async () => {
    const people: [string, CameraColour][] = [
      ['Ana', 'red'],
      ['Ben', 'magenta'],
      ['Cy', 'yellow'],
    ];
    const [anaBrowser, benBrowser, cyBrowser] = await Promise.all(
      people.map(async ([, colour]) => {
        const browser = await launchChromiumWith({ videoFile: await cameraClip(colour) });
        browsers.push(browser);
        return browser;
      }),
    );
    if (!anaBrowser || !benBrowser || !cyBrowser) throw new Error('three browsers expected');
    const palette = { red: CAMERA_COLOURS.red, magenta: CAMERA_COLOURS.magenta, yellow: CAMERA_COLOURS.yellow };
    const room = 'board-review';
    const ana = await arrive(anaBrowser, room, 'Ana');
    const ben = await arrive(benBrowser, room, 'Ben');
    await Promise.all([waitForVideoFrom(ana.page, [ben.id]), waitForVideoFrom(ben.page, [ana.id])]);

    const asked = Date.now();
    const started = await admin<{ status: RecordingStatus; recording: RecordingInfo }>('POST', `/rooms/${room}/recording`, { layout: 'grid' });
    const since = Date.now();
    console.log(`[recording] start answered in ${since - asked} ms`);
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body.status.recording).toMatchObject({ layout: 'grid', startedBy: null });
    const { id } = started.body.recording;
    expect(started.body.recording).toMatchObject({ room, status: 'recording', file: `${id}.webm` });

    // Two people for a while; then Cy arrives, and the others see her camera.
    await pause(4000);
    const cyAsked = secondsSince(since);
    const cy = await arrive(cyBrowser, room, 'Cy');
    await Promise.all([waitForVideoFrom(ana.page, [cy.id]), waitForVideoFrom(ben.page, [cy.id])]);
    await pause(1500);

    // Ana shares her screen for a few seconds.
    const shareAsked = secondsSince(since);
    await ana.page.call('shareScreen');
    await waitForVideoFrom(ben.page, [ana.id], 'screen');
    const shareSeen = secondsSince(since);
    await pause(3000);
    const shareStopAsked = secondsSince(since);
    await ana.page.call('stopScreen');
    await eventually(async () => (await ben.page.page.locator(`[data-peer-id="${ana.id}"][data-kind="screen"]`).count()) === 0, {
      timeoutMs: 15_000,
      what: 'the screen share to end for Ben',
    });
    const unshareSeen = secondsSince(since);
    await pause(3000);

    const stopAsked = secondsSince(since);
    const stopped = await admin<{ status: RecordingStatus; recording: RecordingInfo }>('DELETE', `/rooms/${room}/recording`);
    const stopAnswered = secondsSince(since);
    console.log(
      `[recording] timeline (s after start): Cy joins ${cyAsked.toFixed(1)}, share ${shareAsked.toFixed(1)}–${shareSeen.toFixed(1)}, unshare ${shareStopAsked.toFixed(1)}–${unshareSeen.toFixed(1)}, stop ${stopAsked.toFixed(1)}–${stopAnswered.toFixed(1)}`,
    );
    expect(stopped.status).toBe(200);
    expect(stopped.body.status.recording).toBeNull();
    expect(stopped.body.recording).toMatchObject({ id, status: 'finished', endReason: 'stopped' });

    const { file, bytes } = await download(id);
    expect(stopped.body.recording.bytes).toBe(bytes);
    const probed = await probe(file);
    console.log(
      `[recording] ${bytes} bytes, ${probed.durationSeconds ?? '?'} s: ${probed.streams.map((stream) => `${stream.type} ${stream.codec}`).join(', ')}`,
    );
    expect(probed.streams.filter((stream) => stream.type === 'video')).toHaveLength(1);
    expect(probed.streams.filter((stream) => stream.type === 'audio')).toHaveLength(1);
    expect(probed.streams.find((stream) => stream.type === 'video')).toMatchObject({ width: WIDTH, height: HEIGHT });
    expect(probed.durationSeconds).toBeGreaterThan(stopAsked - 2);
    expect(probed.durationSeconds).toBeLessThan(stopAnswered + (since - asked) / 1000 + 2);
    expect(stopped.body.recording.durationSeconds).toBeCloseTo(probed.durationSeconds ?? 0, 0);

    // What the file shows, twice a second: whose cameras, in large tiles (~20 % of the picture
    // each) or small ones (~5 %) in a strip beside a screen share, and whether the shared screen's
    // picture fills most of it (its area stays black until its first frame arrives).
    const timeline = (await framesOf(file, { perSecond: 2, width: 160, height: 90 })).map((frame) => {
      const shares = colourShares(frame, palette);
      const cameras = (Object.keys(palette) as (keyof typeof palette)[]).filter((colour) => shares[colour] >= 0.02);
      const largest = Math.max(...Object.values(shares));
      const strip = cameras.length > 0 && largest < 0.1;
      return { t: frame.t, shows: `${cameras.join('+')}${strip ? ' beside a screen' : ''}`, largest, screen: screenShare(frame, palette) };
    });
    const phases = runs(timeline);
    console.log(`[recording] the file shows: ${phases.map(({ shows, from, to }) => `${from}–${to} s ${shows || 'no camera'}`).join('; ')}`);

    // It starts with placeholders until the first pictures arrive, within a few seconds.
    const firstBoth = timeline.find(({ shows }) => shows === 'red+magenta');
    expect(firstBoth?.t, 'Ana and Ben’s first pictures').toBeLessThanOrEqual(4);
    for (const moment of timeline.filter(({ t }) => t < (firstBoth?.t ?? 0))) expect(['', 'red', 'magenta']).toContain(moment.shows);
    // Then the story in order — whatever the machine's load did to its timing: Ana and Ben; Cy
    // joins; Ana's screen large with the three cameras beside it; the three again. A phase change
    // may take one frame of transition (a layout being redrawn), no more.
    const settled = phases.filter(({ from }) => from >= (firstBoth?.t ?? 0)).filter(({ frames }) => frames.length > 1);
    expect(settled.map(({ shows }) => shows)).toEqual(['red+magenta', 'red+magenta+yellow', 'red+magenta+yellow beside a screen', 'red+magenta+yellow']);
    expect(phases.filter(({ from, frames }) => from >= (firstBoth?.t ?? 0) && frames.length === 1).length, 'transition frames').toBeLessThanOrEqual(3);
    const [two, three, sharing, after] = settled as [Phase, Phase, Phase, Phase];
    // Nobody appears before they joined or shared. The file's clock starts about when the start was
    // answered: a second's margin for the answer's way to this test on a busy machine.
    expect(two.to).toBeGreaterThanOrEqual(cyAsked - 1);
    expect(three.to).toBeGreaterThanOrEqual(shareAsked - 1);
    expect(sharing.to - sharing.from).toBeGreaterThanOrEqual(1.5);
    expect(after.to - after.from).toBeGreaterThanOrEqual(1);
    // The shared screen's picture fills most of the frame for a second at least while it lasts, and never otherwise.
    expect(sharing.frames.filter(({ screen }) => screen >= 0.35).length, 'frames showing the screen').toBeGreaterThanOrEqual(2);
    for (const phase of [two, three, after]) for (const { t, screen } of phase.frames) expect(screen, `screen picture at ${t} s`).toBeLessThan(0.1);

    // The operator was told, with the file's name, size and length.
    const finished = await eventually(() => hooks().of('recording_finished', room)[0], { timeoutMs: 15_000, what: 'the recording_finished webhook' });
    expect(hooks().of('recording_started', room)).toEqual([
      expect.objectContaining({ recording: { id, file: `${id}.webm`, layout: 'grid' }, by: { admin: true } }),
    ]);
    expect(finished).toMatchObject({ recording: { id, file: `${id}.webm`, layout: 'grid', bytes }, reason: 'stopped' });
    expect(finished.recording.durationSeconds).toBeCloseTo(probed.durationSeconds ?? 0, 0);
    const listed = await admin<{ recordings: RecordingInfo[] }>('GET', '/recordings');
    expect(listed.body.recordings.find((candidate) => candidate.id === id)).toMatchObject({ status: 'finished', bytes });
  });

  it('keeps sound and picture in step: a flash and a beep each second land together in the file', async () => {
    // Flashes of 200 ms: three frames at 15 fps, so a busy compositor dropping a frame does not lose one.
    const sync = await syncClips({ flashMs: 200 });
    const browser = await launchChromiumWith({ videoFile: sync.video, audioFile: sync.audio });
    browsers.push(browser);
    const room = 'lip-sync';
    const sam = await arrive(browser, room, 'Sam');

    const started = await admin<{ recording: RecordingInfo }>('POST', `/rooms/${room}/recording`, { layout: 'grid' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    // Sam's own page records what his devices capture over the same seconds: the pattern's offset at the source.
    const stopReference = await recordCapturedMedia(sam.page.page);
    await pause(8000);
    const reference = path.join(work, 'reference.webm');
    writeFileSync(reference, await stopReference());
    const stopped = await admin<{ recording: RecordingInfo }>('DELETE', `/rooms/${room}/recording`);
    expect(stopped.status).toBe(200);
    const { file } = await download(started.body.recording.id);

    const source = await measureAvSync(reference, { periodMs: sync.periodMs });
    // Sam alone fills the middle of the picture; the centre avoids the name label and speaker border.
    const recorded = await measureAvSync(file, {
      region: { x: WIDTH / 4, y: HEIGHT / 4, width: WIDTH / 2, height: HEIGHT / 2 },
      periodMs: sync.periodMs,
      aroundMs: source.medianMs,
    });
    const addedMs = recorded.medianMs - source.medianMs;
    console.log(
      `[recording] A/V sync, sound after picture: ${addedMs} ms added by the recording (file ${recorded.medianMs} ms: ${recorded.offsetsMs.join(', ')}; Sam's devices ${source.medianMs} ms: ${source.offsetsMs.join(', ')})`,
    );
    expect(source.offsetsMs.length).toBeGreaterThanOrEqual(4);
    expect(recorded.offsetsMs.length).toBeGreaterThanOrEqual(4);
    expect(Math.abs(addedMs)).toBeLessThanOrEqual(250);
  });

  it('streams the meeting live to an RTMP server, and the stream key never leaves the server', async () => {
    const rtmp = await startRtmpServer();
    try {
      const browser = await launchChromiumWith({ videoFile: await cameraClip('cyan') });
      browsers.push(browser);
      const room = 'live-show';
      await arrive(browser, room, 'Dee');
      const key = `live_${randomBytes(12).toString('hex')}`;
      const url = rtmp.url('live', key);

      const started = await admin<{ status: RecordingStatus }>('POST', `/rooms/${room}/stream`, { url, layout: 'speaker' });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      expect(started.body.status.streaming).toMatchObject({ layout: 'speaker', startedBy: null });
      // A viewer of the ingest (as the platform's transcoder would be) gets H.264 and AAC at the recording size…
      const watched = await eventually(() => probe(url, { timeoutMs: 8000 }), { timeoutMs: 30_000, intervalMs: 1000, what: `a stream at ${url}` });
      expect(watched.format).toBe('flv');
      expect(watched.streams.find((stream) => stream.type === 'video')).toMatchObject({ codec: 'h264', width: WIDTH, height: HEIGHT });
      expect(watched.streams.find((stream) => stream.type === 'audio')?.codec).toBe('aac');
      // …showing Dee, alone and large (a third of the picture and more).
      const seen = await framesOf(url, { perSecond: 2, seconds: 2 });
      expect(seen.length).toBeGreaterThanOrEqual(2);
      const shares = colourShares(seen.at(-1)!, { cyan: CAMERA_COLOURS.cyan });
      console.log(
        `[recording] RTMP stream: ${watched.streams.map((stream) => stream.codec).join(' + ')}; Dee's camera fills ${(shares.cyan * 100).toFixed(0)} % of the picture`,
      );
      expect(shares.cyan).toBeGreaterThan(0.3);

      const stopped = await admin<{ status: RecordingStatus }>('DELETE', `/rooms/${room}/stream`);
      expect(stopped.status).toBe(200);
      expect(stopped.body.status.streaming).toBeNull();
      // The ingest no longer has it.
      await eventually(
        () =>
          probe(url, { timeoutMs: 3000 }).then(
            () => false,
            () => true,
          ),
        { timeoutMs: 20_000, intervalMs: 500, what: 'the stream to end' },
      );

      const finished = await eventually(() => hooks().of('stream_finished', room)[0], { timeoutMs: 15_000, what: 'the stream_finished webhook' });
      const redacted = `rtmp://127.0.0.1:${rtmp.port}/live/…`;
      expect(hooks().of('stream_started', room)).toEqual([expect.objectContaining({ stream: { url: redacted, layout: 'speaker' }, by: { admin: true } })]);
      expect(finished).toMatchObject({ stream: { url: redacted, layout: 'speaker' }, reason: 'stopped' });
      expect(hooks().of('stream_failed', room)).toEqual([]);
      expect(JSON.stringify(hooks().events)).not.toContain(key);
      // The ingest saw one publisher, under the key.
      expect(rtmp.log()).toMatch(new RegExp(`publish: name='${key}'`));
    } finally {
      await rtmp.stop();
    }
  });
});

interface Moment {
  t: number;
  shows: string;
  largest: number;
  /** The share of the picture that is the shared screen's. */
  screen: number;
}

/** A stretch of the timeline that shows the same thing, from its first to its last frame. */
interface Phase {
  shows: string;
  from: number;
  to: number;
  frames: Moment[];
}

function runs(timeline: Moment[]): Phase[] {
  const phases: Phase[] = [];
  for (const moment of timeline) {
    const last = phases.at(-1);
    if (last?.shows === moment.shows) {
      last.frames.push(moment);
      last.to = moment.t;
    } else {
      phases.push({ shows: moment.shows, from: moment.t, to: moment.t, frames: [moment] });
    }
  }
  return phases;
}

/**
 * The share of the frame that is neither a camera colour nor the call's dark background and tiles:
 * during a screen share, the shared screen (Chromium's fake capture, a bright moving pattern).
 */
function screenShare(frame: Frame, palette: Record<string, Rgb>): number {
  const cameras = Object.values(palette);
  let other = 0;
  for (let at = 0; at < frame.data.length; at += 3) {
    const [r, g, b] = [frame.data[at]!, frame.data[at + 1]!, frame.data[at + 2]!];
    const dark = r < 48 && g < 48 && b < 48;
    const camera = cameras.some(([cr, cg, cb]) => (r - cr) ** 2 + (g - cg) ** 2 + (b - cb) ** 2 <= 80 ** 2);
    if (!dark && !camera) other++;
  }
  return other / (frame.width * frame.height);
}
