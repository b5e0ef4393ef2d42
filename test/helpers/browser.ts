import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ConferenceSnapshot, ConferenceStats } from '../../client/src/conference/types.js';
import type { ConclaveAutomation } from '../../client/src/automation.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../scripts/loadtest/chromium.js';
import { patternClip } from './media.js';

export { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from '../../scripts/loadtest/chromium.js';

export interface FakeCaptureFiles {
  /** A .y4m (or .mjpeg) file the fake camera plays in a loop instead of its test pattern. */
  videoFile?: string;
  /** A 16-bit PCM .wav file the fake microphone plays in a loop instead of its beep. */
  audioFile?: string;
}

/**
 * Chromium whose fake camera and microphone play the given files (test/helpers/media.ts). The
 * files are per browser process, so people who must look (or sound) different each need their own.
 */
export function launchChromiumWith({ videoFile, audioFile }: FakeCaptureFiles): Promise<Browser> {
  const args = [...CHROMIUM_ARGS];
  if (videoFile) args.push(`--use-file-for-fake-video-capture=${videoFile}`);
  if (audioFile) args.push(`--use-file-for-fake-audio-capture=${audioFile}`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args, headless: true });
}

/**
 * Chromium whose fake camera is a 640×360 moving pattern instead of its default 1280×720: two
 * simulcast layers to encode instead of three, a fifth of the pixels, so a page publishing its
 * camera costs a loaded CI machine far less. For tests of joining, tiles, media arriving and
 * reconnection; tests of which layer a viewer gets (layers, quality) keep the default camera.
 */
export async function launchLightChromium(): Promise<Browser> {
  return launchChromiumWith({ videoFile: await patternClip() });
}

declare global {
  interface Window {
    /** Every track getUserMedia/getDisplayMedia handed out, so tests can check they were released. */
    __capturedTracks?: MediaStreamTrack[];
    /** Frames each remote camera `<video>` presented since `countPresentedFrames`, by peer id. */
    __presentedFrames?: Record<string, number>;
  }
}

export interface ParticipantPage {
  name: string;
  context: BrowserContext;
  page: Page;
  loadedAt: number;
  state(): Promise<ConferenceSnapshot>;
  stats(): Promise<ConferenceStats>;
  call<K extends 'setMic' | 'setCam' | 'shareScreen' | 'stopScreen' | 'leave'>(method: K, ...args: Parameters<ConclaveAutomation[K]>): Promise<void>;
  /** Closes the tab and its context, as a person closing the window does. */
  close(): Promise<void>;
  /**
   * Ends this person's visit once they have left: the tab goes back to a blank page with its
   * storage cleared, to be navigated by the next person opened in this browser (or is closed if it
   * cannot be). A tab navigated again costs about half the CPU of a new context and tab.
   */
  release(): Promise<void>;
}

export interface OpenOptions {
  /** Extra query parameters (cam=0, mic=0, relay=1…). */
  query?: Record<string, string>;
  /** Make getUserMedia fail as if the user clicked "Block". */
  denyMedia?: boolean;
  viewport?: { width: number; height: number };
  /** False: do not wait until joined (someone who will wait in a locked meeting's lobby). */
  waitUntilJoined?: boolean;
}

/**
 * Tabs whose person has left, by browser and by whether they refuse media: the next person opened
 * in that browser navigates one of them instead of starting a context and a renderer process.
 */
const idleTabs = new WeakMap<Browser, Record<'allow' | 'deny', Page[]>>();

async function newTab(browser: Browser, deny: boolean): Promise<Page> {
  const context = await browser.newContext();
  await context.addInitScript((deny: boolean) => {
    window.__capturedTracks = [];
    const devices = navigator.mediaDevices;
    if (!devices) return;
    const wrap = (original: (constraints?: MediaStreamConstraints) => Promise<MediaStream>) => async (constraints?: MediaStreamConstraints) => {
      if (deny) throw new DOMException('Permission denied', 'NotAllowedError');
      const stream = await original(constraints);
      window.__capturedTracks?.push(...stream.getTracks());
      return stream;
    };
    devices.getUserMedia = wrap(devices.getUserMedia.bind(devices));
    devices.getDisplayMedia = wrap(devices.getDisplayMedia.bind(devices));
  }, deny);
  return context.newPage();
}

/**
 * Opens the app as a new person and waits until joined (unless told not to). Each person has a
 * browser context of their own: a fresh one, or one whose previous person left and whose storage was
 * cleared (`release`), so no two people present at once share cookies, storage or a tab.
 */
export async function openParticipant(browser: Browser, baseUrl: string, room: string, name: string, options: OpenOptions = {}): Promise<ParticipantPage> {
  const kind = options.denyMedia ? 'deny' : 'allow';
  const idle = idleTabs.get(browser)?.[kind].pop();
  const page = idle ?? (await newTab(browser, kind === 'deny'));
  const context = page.context();
  await page.setViewportSize(options.viewport ?? { width: 1280, height: 720 });
  const query = new URLSearchParams({ room, name, ...options.query });
  const loadedAt = Date.now();
  // A CI machine running two browser suites at once can take over 30 s (Playwright's default) to load
  // one more page: it is the join that is under test, not the page load's speed.
  await page.goto(`${baseUrl}/?${query.toString()}`, { timeout: 90_000 });
  await page.waitForFunction(() => window.conclave !== undefined, undefined, { timeout: 60_000 });
  if (options.waitUntilJoined ?? true) await page.evaluate(() => window.conclave!.ready);
  return {
    name,
    context,
    page,
    loadedAt,
    state: () => page.evaluate(() => window.conclave!.state()),
    stats: () => page.evaluate(() => window.conclave!.stats()),
    call: async (method, ...args) => {
      await page.evaluate(([m, a]) => (window.conclave![m] as (...x: unknown[]) => Promise<void>)(...a), [method, args] as const);
    },
    close: () => context.close(),
    release: async () => {
      if (page.isClosed()) return context.close();
      try {
        await page.evaluate(() => localStorage.clear());
        await page.goto('about:blank');
      } catch {
        return context.close();
      }
      let pools = idleTabs.get(browser);
      if (!pools) idleTabs.set(browser, (pools = { allow: [], deny: [] }));
      pools[kind].push(page);
    },
  };
}

/**
 * Leaves the room as the Leave button does, then releases the tab for the next person. The leave
 * is awaited, so the server frees the place now; a page only closed keeps it until its leave beacon
 * arrives, or for the reconnect grace period (30 s) if the beacon is lost on a busy machine.
 */
export async function leaveAndClose(participant: ParticipantPage): Promise<void> {
  if (participant.page.isClosed()) return participant.close();
  await participant.call('leave');
  await participant.release();
}

/**
 * Starts counting the frames each remote camera `<video>` element presents on screen
 * (`requestVideoFrameCallback`, in Chromium and Firefox alike); returns a reader of the counts.
 */
export async function countPresentedFrames(participant: ParticipantPage, peerIds: string[]): Promise<() => Promise<Record<string, number>>> {
  await participant.page.evaluate((ids) => {
    const counts: Record<string, number> = {};
    window.__presentedFrames = counts;
    const watched = new Map<string, HTMLVideoElement>();
    const tileVideo = (id: string) => document.querySelector<HTMLVideoElement>(`[data-peer-id="${id}"][data-kind="camera"] video`);
    // Counts the frames of whichever <video> the tile holds now: a tile rebuilt meanwhile (its
    // consumer made again) is followed, not mistaken for a stalled one.
    const follow = (id: string, video: HTMLVideoElement): void => {
      watched.set(id, video);
      const onFrame = (): void => {
        if (watched.get(id) !== video) return;
        counts[id] = (counts[id] ?? 0) + 1;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    };
    for (const id of ids) {
      const video = tileVideo(id);
      if (!video) throw new Error(`no camera <video> of ${id}`);
      counts[id] = 0;
      follow(id, video);
    }
    setInterval(() => {
      for (const id of ids) {
        const video = tileVideo(id);
        if (video && video !== watched.get(id)) follow(id, video);
      }
    }, 250);
  }, peerIds);
  return () => participant.page.evaluate(() => ({ ...window.__presentedFrames }));
}

/** Frames decoded per remote camera/screen of `peerId`, or undefined if not received. */
export function framesFrom(stats: ConferenceStats, peerId: string, source: 'camera' | 'screen' = 'camera'): number | undefined {
  return stats.consumers.find((consumer) => consumer.peerId === peerId && consumer.source === source)?.framesDecoded;
}

/** Resolves when every listed peer's `source` video has decoded frames that keep rising. */
export async function waitForVideoFrom(
  participant: ParticipantPage,
  peerIds: string[],
  source: 'camera' | 'screen' = 'camera',
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let previous: (number | undefined)[] = [];
  for (;;) {
    const stats = await participant.stats();
    const now = peerIds.map((peerId) => framesFrom(stats, peerId, source));
    const rising = now.every((frames, i) => frames !== undefined && frames > 0 && frames > (previous[i] ?? 0));
    if (rising && previous.length > 0) return;
    if (Date.now() > deadline) {
      throw new Error(`${participant.name}: ${source} video from ${peerIds.join(', ')} not decoding; frames ${JSON.stringify(now)}`);
    }
    previous = now;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}
